import fc from 'fast-check';
import { flattenConfig, nginxConfigOf, ProgramError, RecordedResource, runProgram, unwrap } from './helpers/program';

/**
 * The brief's dependency rules, checked on what the program really declares (container env, gitlab.rb,
 * published ports, the nginx.conf its apply-config step writes into nginx's config volume) for generated
 * configs, not on the topology that produced them; a generated config the rules refuse must be refused
 * with the exact message, before any resource.
 */
export const PROPERTY_RUNS = 30;

/**
 * DNS labels, often with a `-` inside (`a-b`): instance names then reach the places that rewrite or
 * refuse `-` (nginx variable names, PostgreSQL names, environment variable names).
 */
const plain = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
const label = fc
  .oneof(
    plain,
    fc.tuple(plain, plain).map(([a, b]) => `${a}-${b}`),
  )
  .filter((s) => s.length <= 12 && !s.startsWith('xn--'));
/** The wildcard, loopback and one specific address: equal ports clash only where the addresses overlap. */
const bindAddress = fc.constantFrom('0.0.0.0', '127.0.0.1', '10.0.0.5');
const configArb = fc
  .record({
    domain: fc.tuple(label, fc.constantFrom('io', 'localhost', 'example.org')).map(([a, b]) => `${a}.${b}`),
    scheme: fc.constantFrom('http', 'https'),
    publicPort: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined, freq: 2 }),
    proxyAddress: bindAddress,
    sshAddress: bindAddress,
    names: fc.uniqueArray(label, { minLength: 1, maxLength: 4 }),
    sshPorts: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 4, maxLength: 4 }),
    rocketchat: fc.boolean(),
    members: fc.constantFrom(1, 3, 5),
    customHost: fc.boolean(),
  })
  .chain((c) =>
    // nginx's port: any, 443 (refused behind https without publicPort), or one of the SSH ports in use.
    fc
      .oneof(
        { arbitrary: fc.integer({ min: 1, max: 65535 }), weight: 2 },
        { arbitrary: fc.constant(443), weight: 1 },
        { arbitrary: fc.constantFrom(...c.sshPorts.slice(0, c.names.length)), weight: 2 },
      )
      .map((httpPort) => ({ ...c, httpPort })),
  );

type Generated = typeof configArb extends fc.Arbitrary<infer T> ? T : never;

function toConfig(c: Generated): Record<string, string> {
  return flattenConfig({
    'kytes:domain': c.domain,
    'kytes:proxy': {
      httpPort: c.httpPort,
      bindAddress: c.proxyAddress,
      publicScheme: c.scheme,
      ...(c.publicPort === undefined ? {} : { publicPort: c.publicPort }),
    },
    'kytes:gitlab': {
      sshBindAddress: c.sshAddress,
      instances: c.names.map((name, i) => ({
        name,
        sshPort: c.sshPorts[i],
        ...(c.customHost ? { hostname: `${name}.code.${c.domain}` } : {}),
      })),
    },
    'kytes:rocketchat': { enabled: c.rocketchat },
    'kytes:mongo': { members: c.members, replicaSet: 'set-a' },
  });
}

/**
 * What Kytes must refuse in a generated config, worked out from the generated values alone (the rules as
 * README and lib/topology/checks.ts state them): nginx's port equal to an SSH port where the addresses
 * overlap (equal, or either 0.0.0.0), and plain HTTP on 443 behind https without a publicPort.
 */
function expectedProblems(c: Generated): string[] {
  const overlap = c.proxyAddress === c.sshAddress || c.proxyAddress === '0.0.0.0' || c.sshAddress === '0.0.0.0';
  const clash = c.sshPorts.slice(0, c.names.length).indexOf(c.httpPort);
  return [
    ...(overlap && clash >= 0
      ? [
          `kytes:gitlab.instances[${clash}].sshPort: host port ${c.httpPort} is already published by kytes:proxy.httpPort; choose another port`,
        ]
      : []),
    ...(c.scheme === 'https' && c.httpPort === 443 && c.publicPort === undefined
      ? [
          'kytes:proxy.httpPort: 443 with publicScheme https and kytes:tls.mode off; nginx would serve plain HTTP on 443: set kytes:tls.mode to files or acme, or publish nginx on another port behind the TLS proxy',
        ]
      : []),
  ];
}

const containers = (rs: RecordedResource[]) => rs.filter((r) => r.type === 'docker:index/container:Container');
const envOf = (r: RecordedResource): Record<string, string> =>
  Object.fromEntries(
    (unwrap(r.inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
const aliasesOf = (r: RecordedResource): string[] =>
  (r.inputs.networksAdvanced as Array<{ aliases: string[] }>).flatMap((n) => n.aliases);

interface Server {
  serverName: string;
  host: string;
  port: number;
}

function nginxServers(nginxConf: string): Server[] {
  return nginxConf
    .split(/\bserver \{/)
    .slice(1)
    .flatMap((block) => {
      const name = /server_name (\S+);/.exec(block);
      const target = /set \$\w+ http:\/\/([^:]+):(\d+);/.exec(block);
      return name && target ? [{ serverName: name[1], host: target[1], port: Number(target[2]) }] : [];
    });
}

const rb = (gitlabRb: string, key: string) => {
  const m = new RegExp(`^${key.replace(/[[\]']/g, (c) => `\\${c}`)}(?: = | )(.+)$`, 'm').exec(gitlabRb);
  if (!m) throw new Error(`${key} not in gitlab.rb`);
  return m[1].replace(/^'(.*)'$/, '$1');
};

describe('dependency rules hold for generated configs', () => {
  it(`rules 1-7, or the exact refusal (${PROPERTY_RUNS} runs)`, async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(configArb, async (c) => {
        const problems = expectedProblems(c);
        for (const [edge, reached] of [
          ['refused: port clash', problems.some((p) => p.includes('already published'))],
          ['refused: plain HTTP on 443', problems.some((p) => p.startsWith('kytes:proxy.httpPort: 443'))],
          ['runs: one port on two addresses', problems.length === 0 && c.sshPorts.includes(c.httpPort)],
          ['runs: https on 443 with publicPort', problems.length === 0 && c.scheme === 'https' && c.httpPort === 443],
          ['runs: an address is 0.0.0.0', problems.length === 0 && [c.proxyAddress, c.sshAddress].includes('0.0.0.0')],
          ['runs: a name with -', problems.length === 0 && c.names.some((n) => n.includes('-'))],
        ] as const)
          if (reached) seen.add(edge);
        if (problems.length > 0) {
          const error = await runProgram('prop', toConfig(c)).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(ProgramError);
          expect((error as ProgramError).message).toBe(
            `Inconsistent Kytes configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
              problems.map((p) => `  - ${p}`).join('\n'),
          );
          expect((error as ProgramError).resources).toEqual([]);
          return;
        }
        const { resources } = await runProgram('prop', toConfig(c));
        const all = containers(resources);
        const nginx = all.find((r) => r.name === 'kytes-prop-nginx-container')!;
        const conf = nginxConfigOf(resources, 'kytes-prop');
        const servers = nginxServers(conf);

        // Rule 1: nginx listens on the container side of its published port, in every server block.
        const [published] = nginx.inputs.ports as Array<{ internal: number; external: number }>;
        expect(published.internal).toBe(published.external);
        const listens = [...conf.matchAll(/listen (\d+)/g)].map((m) => Number(m[1]));
        expect(new Set(listens)).toEqual(new Set([published.internal]));

        const gitlab = all.filter((r) => r.name.startsWith('kytes-prop-gitlab-'));
        const rocketchat = all.find((r) => r.name === 'kytes-prop-rocketchat-container');
        expect(servers.length).toBe(gitlab.length + (rocketchat ? 1 : 0));

        for (const s of servers) {
          // Rule 4: every proxy_pass host is an alias of exactly one container on the network.
          const targets = all.filter((r) => aliasesOf(r).includes(s.host));
          expect(targets.length).toBe(1);
          const target = targets[0];
          const env = envOf(target);
          if (target.name.startsWith('kytes-prop-gitlab-')) {
            const gitlabRb = env.GITLAB_OMNIBUS_CONFIG;
            // Rule 2: GitLab's listen port in gitlab.rb is the proxy_pass port.
            expect(Number(rb(gitlabRb, "gitlab_rails['nginx']['listen_port']"))).toBe(s.port);
            // Rule 5: server_name is external_url's host.
            expect(new URL(rb(gitlabRb, 'external_url')).hostname).toBe(s.serverName);
            // Rule 7: the SSH port GitLab advertises is the one published for it.
            const ssh = (target.inputs.ports as Array<{ internal: number; external: number }>)[0];
            expect(Number(rb(gitlabRb, "gitlab_rails['gitlab_shell_ssh_port']"))).toBe(ssh.external);
          } else {
            // Rule 3: Rocket.Chat's PORT is its proxy_pass port; rule 5 for ROOT_URL and the stored Site URL.
            expect(target.name).toBe('kytes-prop-rocketchat-container');
            expect(Number(env.PORT)).toBe(s.port);
            expect(new URL(env.ROOT_URL).hostname).toBe(s.serverName);
            expect(env.OVERWRITE_SETTING_Site_Url).toBe(env.ROOT_URL);
          }
        }
        expect(new Set(servers.map((s) => s.serverName)).size).toBe(servers.length);

        // Each published port is on the address its key gives, and two share a host port only on two
        // different specific addresses (0.0.0.0 overlaps every address).
        const hostPorts = all.flatMap((r) =>
          ((r.inputs.ports as Array<{ external: number; ip: string }> | undefined) ?? []).map((p) => ({
            name: r.name,
            ...p,
          })),
        );
        expect(hostPorts.map((p) => [p.name, p.ip, p.external]).sort()).toEqual(
          [
            ['kytes-prop-nginx-container', c.proxyAddress, c.httpPort],
            ...c.names.map((n, i) => [`kytes-prop-gitlab-${n}-container`, c.sshAddress, c.sshPorts[i]]),
          ].sort(),
        );
        const shared = hostPorts.flatMap((p, i) =>
          hostPorts.slice(0, i).flatMap((q) => (p.external === q.external ? [[p, q]] : [])),
        );
        expect(shared.filter(([p, q]) => p.ip === q.ip || p.ip === '0.0.0.0' || q.ip === '0.0.0.0')).toEqual([]);

        // Users see publicPort, else 443 behind https, else nginx's own port: in every URL and X-Forwarded-Port.
        const usersSee = c.publicPort ?? (c.scheme === 'https' ? 443 : c.httpPort);
        const urls = all.flatMap((r) => {
          const env = envOf(r);
          return env.GITLAB_OMNIBUS_CONFIG
            ? [rb(env.GITLAB_OMNIBUS_CONFIG, 'external_url')]
            : env.ROOT_URL
              ? [env.ROOT_URL]
              : [];
        });
        expect(urls.length).toBe(servers.length);
        for (const u of urls) {
          const url = new URL(u);
          expect([url.protocol, Number(url.port || (url.protocol === 'https:' ? 443 : 80))]).toEqual([
            `${c.scheme}:`,
            usersSee,
          ]);
        }
        expect([...conf.matchAll(/proxy_set_header X-Forwarded-Port (\d+);/g)].map((m) => Number(m[1]))).toEqual(
          servers.map(() => usersSee),
        );

        // Rule 6: member aliases = replica-set hosts in the initiation = hosts in Rocket.Chat's URL; one set name.
        if (rocketchat) {
          const members = all.filter((r) => /^kytes-prop-mongo-\d+$/.test(r.name));
          const hosts = members.map((m) => `${aliasesOf(m)[0]}:27017`);
          // WHATWG URL cannot parse a multi-host MongoDB URL.
          const url = /^mongodb:\/\/[^@]+@([^/]+)\/rocketchat\?(.*)$/.exec(envOf(rocketchat).MONGO_URL)!;
          expect(url[1].split(',')).toEqual(hosts);
          expect(new URLSearchParams(url[2]).get('replicaSet')).toBe('set-a');
          for (const m of members) {
            const cmd = m.inputs.command as string[];
            expect(cmd[cmd.indexOf('--replSet') + 1]).toBe('set-a');
          }
          const init = resources.find((r) => r.name === 'kytes-prop-mongo-initiate')!;
          expect(init.inputs.stdin).toContain(`const members = ${JSON.stringify(hosts)};`);
          expect(init.inputs.stdin).toContain('const replicaSet = "set-a";');
        }
      }),
      // A fixed seed, so that every edge case below is reached on every run.
      { numRuns: PROPERTY_RUNS, seed: 2 },
    );
    expect([...seen].sort()).toEqual([
      'refused: plain HTTP on 443',
      'refused: port clash',
      'runs: a name with -',
      'runs: an address is 0.0.0.0',
      'runs: https on 443 with publicPort',
      'runs: one port on two addresses',
    ]);
  }, 180000);
});
