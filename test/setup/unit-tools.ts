import { spawnSync } from 'child_process';

/**
 * The programs the unit tier runs besides Node: the ops scripts are executed for real (bash, jq, flock
 * and the coreutils they call), every rendered script and Command string goes through shellcheck, and
 * every rendered gitlab.rb through `ruby -c`.
 * Checked once before any test, so a missing tool is one line naming it and its package, not a failure
 * per test that shells out. The README's Testing section lists the same tools.
 */
export const UNIT_TOOLS: Readonly<Record<string, string>> = {
  bash: 'bash',
  jq: 'jq',
  shellcheck: 'shellcheck',
  flock: 'util-linux',
  sha256sum: 'coreutils',
  tar: 'tar',
  ruby: 'ruby',
};

export function missingTools(tools: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv): string[] {
  return Object.keys(tools).filter(
    (tool) => spawnSync('sh', ['-c', 'command -v "$1" >/dev/null', 'sh', tool], { env }).status !== 0,
  );
}

export default function unitToolsPreflight(): void {
  const missing = missingTools(UNIT_TOOLS, process.env);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((t) => UNIT_TOOLS[t]))].join(' ');
  // One line, no stack: jest prints a thrown Error's stack, which would bury the fix.
  process.stderr.write(
    `\nunit tier: not on PATH: ${missing.join(', ')}. Install it (Debian/Ubuntu: apt-get install ${packages}) and run again; ` +
      `see README, Testing.\n\n`,
  );
  process.exit(1);
}
