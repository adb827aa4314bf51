import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import {
  argvOperand,
  cronCommandWord,
  cronEnvLine,
  curlConfigString,
  envEntry,
  jsLiteral,
  nginxVariable,
  nginxWord,
  psqlName,
  rubyString,
  shellWord,
  SinkError,
  sqlIdentifier,
  sqlLiteral,
} from '../lib/sinks';

/**
 * Each sink function against hostile strings, checked by the real interpreter of that sink: bash
 * reads a quoted word back byte for byte (and runs nothing: a canary file must not appear), ruby
 * and node parse and evaluate the literal back to the same string.
 */

const HOSTILE = [
  "it's",
  '$(touch CANARY)',
  '`touch CANARY`',
  '"; touch CANARY; "',
  "'; touch CANARY; '",
  '\\',
  "\\\\'",
  'a\nb',
  'a\r\nb',
  '%',
  '100% sure\\%',
  '${HOME}',
  '$HOME',
  '!!',
  '*',
  '~root',
  '-oProxyCommand=touch CANARY',
  '--',
  ' leading and trailing ',
  '\t',
  '#{`touch CANARY`}',
  '#{system("touch CANARY")}',
  '</script>',
  '\u2028\u2029',
  'é😀',
  '',
];

const RUNS = 200;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kytes-sinks-'));
const canary = path.join(dir, 'CANARY');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What bash makes of `printf '%s\0' <words>`: the words, each as bash read it. */
function bashWords(words: string): string[] {
  const out = execFileSync('bash', ['-c', `printf '%s\\0' ${words}`], { cwd: dir, encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('shellWord (bash)', () => {
  it.each(HOSTILE.filter((s) => s !== ''))('%j is one word that reads back unchanged', (s) => {
    expect(bashWords(shellWord(s))).toEqual([s]);
    expect(fs.existsSync(canary)).toBe(false);
  });

  it('the empty string is one empty word', () => {
    expect(bashWords(`x${shellWord('')}y`)).toEqual(['xy']);
    expect(bashWords(`a ${shellWord('')} b`)).toEqual(['a', '', 'b']);
  });

  it(`any string without NUL stays one word (${RUNS} generated)`, () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'));
    const samples = fc.sample(text, { numRuns: RUNS, seed: 13 });
    // One bash run for all samples: each is followed by a separator word the test chooses.
    const words = samples.map((s) => `${shellWord(s)} ${shellWord('--sep--')}`).join(' ');
    const read = bashWords(words);
    expect(read).toEqual(samples.flatMap((s) => [s, '--sep--']));
    expect(fs.existsSync(canary)).toBe(false);
  });

  it('refuses NUL, which no argument can carry', () => {
    expect(() => shellWord('a\0b')).toThrow(SinkError);
  });
});

describe('cronCommandWord (cron, then bash)', () => {
  it('escapes % for cron and quotes for bash', () => {
    expect(cronCommandWord('/srv/100%/x')).toBe("'/srv/100\\%/x'");
    expect(cronCommandWord("/srv/it's")).toBe("'/srv/it'\\''s'");
  });

  it('what cron hands to the shell reads back as the value (cron turns \\% into %)', () => {
    for (const s of HOSTILE.filter((x) => !/[\r\n]/.test(x) && x !== '')) {
      const fromCron = cronCommandWord(s).replace(/\\%/g, '%');
      expect(bashWords(fromCron)).toEqual([s]);
    }
  });

  it('refuses a line break: it would end the cron line', () => {
    expect(() => cronCommandWord('a\nb')).toThrow(SinkError);
    expect(() => cronCommandWord('a\rb')).toThrow(SinkError);
  });

  it('writes only plain variable lines', () => {
    expect(cronEnvLine('CRON_TZ', 'America/Argentina/Buenos_Aires')).toBe('CRON_TZ=America/Argentina/Buenos_Aires');
    expect(() => cronEnvLine('CRON_TZ', 'UTC\n* * * * * root id')).toThrow(SinkError);
    expect(() => cronEnvLine('CRON_TZ', 'UTC X')).toThrow(SinkError);
    expect(() => cronEnvLine('lower', 'x')).toThrow(SinkError);
  });
});

describe('curlConfigString (curl --config files)', () => {
  it('double-quotes, escaping the two characters curl reads as escapes there', () => {
    expect(curlConfigString('https://x.example/hooks/a"b\\c$(id)`y`')).toBe(
      '"https://x.example/hooks/a\\"b\\\\c$(id)`y`"',
    );
  });
  it.each(['a\nurl = "http://evil.example/"', 'a\rb', 'a\u0000b', 'a\u2028b'])(
    'refuses %j (a line break would start another option) without showing it: it may be a secret',
    (value) => {
      expect(() => curlConfigString(value)).toThrow(
        'curl config: a value (not shown: it may be a secret) cannot be written there; allowed: one line without control characters',
      );
    },
  );
});

describe('envEntry (container environment)', () => {
  it('keeps any value but NUL as it is, quotes and line breaks included', () => {
    expect(envEntry('GITLAB_OMNIBUS_CONFIG', "a = 'b'\n$(id) \\ `x`")).toBe(
      "GITLAB_OMNIBUS_CONFIG=a = 'b'\n$(id) \\ `x`",
    );
  });
  it('refuses a NUL byte, naming the variable but not the value (it may be a secret)', () => {
    expect(() => envEntry('KYTES_DB_PASSWORD', 'hunter2\u0000x')).toThrow(
      'environment: the value of KYTES_DB_PASSWORD (not shown: it may be a secret) cannot be written there; allowed: any text without a NUL byte',
    );
  });
  it.each(['', '1X', 'A=B', 'A B', 'A\nB'])('refuses the variable name %j', (name) => {
    expect(() => envEntry(name, 'v')).toThrow(SinkError);
  });
});

describe('nginxWord, psqlName, argvOperand (validated sinks)', () => {
  it.each(HOSTILE.filter((s) => s !== '--'))('nginxWord refuses %j', (s) => {
    expect(() => nginxWord(s)).toThrow(SinkError);
  });
  it.each(['gitlab.kytes.io', 'gitlab-main:80', '200m', '127.0.0.11', '/nginx-health'])(
    'nginxWord accepts %j (hostnames, host:port, sizes, addresses, paths)',
    (s) => {
      expect(nginxWord(s)).toBe(s);
    },
  );
  // nginx reads a variable name as letters, digits and _ and stops at anything else, and `$1`…`$9` are
  // regex captures (src/http/ngx_http_script.c, ngx_http_script_compile): `$upstream_gitlab_ci-runner`
  // would be `$upstream_gitlab_ci` followed by the text "-runner".
  it('nginxVariable accepts $ then lower-case letters, digits and _', () => {
    expect(nginxVariable('$upstream_gitlab_ci_runner_2')).toBe('$upstream_gitlab_ci_runner_2');
  });
  it.each(['$upstream_gitlab_ci-runner', 'upstream_gitlab', '$Upstream', '$1st', '$', '$a b', '$a;', '$a\n', '$a.b'])(
    'nginxVariable refuses %j, naming it',
    (s) => {
      expect(() => nginxVariable(s)).toThrow(
        `nginx: variable ${JSON.stringify(s)} cannot be written there; allowed: $ then lower-case letters, digits and _`,
      );
    },
  );
  it.each(HOSTILE)('psqlName refuses %j', (s) => {
    expect(() => psqlName(s)).toThrow(SinkError);
  });
  it('argvOperand refuses what a program would read as an option', () => {
    expect(() => argvOperand('-oProxyCommand=x', 'host')).toThrow('does not start with "-"');
    expect(() => argvOperand('--port', 'name')).toThrow(SinkError);
    expect(argvOperand('rs0', 'name')).toBe('rs0');
  });
});

function hasRuby(): boolean {
  return spawnSync('ruby', ['-e', '1']).status === 0;
}

describe('rubyString (gitlab.rb)', () => {
  it('ruby is installed (apt-get install ruby; .ci/run installs it)', () => {
    expect(hasRuby()).toBe(true);
  });

  it(`ruby -c accepts, and ruby evaluates back, every hostile string and ${RUNS} generated ones`, () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !/[\0\r]/.test(s));
    const values = [...HOSTILE.filter((s) => !s.includes('\r')), ...fc.sample(text, { numRuns: RUNS, seed: 31 })];
    const file = path.join(dir, 'values.rb');
    // Each literal on its own line, collected into an array and written out as JSON by Ruby itself.
    fs.writeFileSync(
      file,
      `require 'json'\nv = [\n${values.map((v) => `  ${rubyString(v)},`).join('\n')}\n]\nprint JSON.generate(v)\n`,
    );
    expect(execFileSync('ruby', ['-c', file], { encoding: 'utf8' })).toContain('Syntax OK');
    const back = JSON.parse(execFileSync('ruby', ['-E', 'UTF-8', file], { cwd: dir, encoding: 'utf8' })) as string[];
    expect(back).toEqual(values);
    expect(fs.existsSync(canary)).toBe(false);
  });

  it('refuses CR (Ruby reads CR LF in source as LF) and NUL', () => {
    expect(() => rubyString('a\r\nb')).toThrow(SinkError);
    expect(() => rubyString('a\0b')).toThrow(SinkError);
  });
});

describe('jsLiteral (mongosh code)', () => {
  it('node --check accepts and evaluates back every hostile string', () => {
    const file = path.join(dir, 'values.js');
    fs.writeFileSync(file, `process.stdout.write(JSON.stringify([${HOSTILE.map(jsLiteral).join(',\n')}]));\n`);
    execFileSync(process.execPath, ['--check', file]);
    expect(JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8' }))).toEqual(HOSTILE);
  });
});

describe('sqlIdentifier and sqlLiteral', () => {
  it('double the quote of their kind, so the value cannot end the token', () => {
    expect(sqlIdentifier('a"b')).toBe('"a""b"');
    expect(sqlLiteral("a'b")).toBe("'a''b'");
    expect(sqlLiteral('\\')).toBe("'\\'");
  });
  it('refuse NUL and identifiers PostgreSQL would cut at 63 bytes', () => {
    expect(() => sqlLiteral('a\0')).toThrow(SinkError);
    expect(sqlIdentifier('a'.repeat(63))).toBe(`"${'a'.repeat(63)}"`);
    expect(() => sqlIdentifier('a'.repeat(64))).toThrow('at most 63 bytes');
    expect(() => sqlIdentifier('é'.repeat(32))).toThrow('at most 63 bytes');
  });
});
