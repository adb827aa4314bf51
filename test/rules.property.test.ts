import fc from 'fast-check';
import { flattenConfig, nginxConfigOf, RecordedResource, runProgram, unwrap } from './helpers/program';

/**
 * The brief's dependency rules, checked on what the program really declares (container env, gitlab.rb,
 * nginx.conf uploaded into the proxy) for generated valid configs: not on the topology that produced them.
 */
export const PROPERTY_RUNS = 30;

const label = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
const configArb = fc
  .record({
    domain: fc.tuple(label, fc.constantFrom('io', 'localhost', 'example.org')).map(([a, b]) => `${a}.${b}`),
    httpPort: fc.integer({ min: 1, max: 65535 }),
    scheme: fc.constantFrom('http', 'https'),
    names: fc.uniqueArray(label, { minLength: 1, maxLength: 4 }),
    sshPorts: fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 4, maxLength: 4 }),
    rocketchat: fc.boolean(),
    members: fc.constantFrom(1, 3, 5),
    customHost: fc.boolean(),
  })
  .filter((c) => !c.sshPorts.includes(c.httpPort) && !(c.scheme === 'https' && c.httpPort === 443));

type Generated = typeof configArb extends fc.Arbitrary<infer T> ? T : never;

function toConfig(c: Generated): Record<string, string> {
  return flattenConfig({
    'kytes:domain': c.domain,
    'kytes:proxy': { httpPort: c.httpPort, bindAddress: '127.0.0.1', publicScheme: c.scheme },
    'kytes:gitlab': {
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
  it(`rules 1-7 (${PROPERTY_RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(configArb, async (c) => {
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

        // Published host ports are unique.
        const hostPorts = all.flatMap((r) =>
          ((r.inputs.ports as Array<{ external: number }> | undefined) ?? []).map((p) => p.external),
        );
        expect(new Set(hostPorts).size).toBe(hostPorts.length);

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
      { numRuns: PROPERTY_RUNS },
    );
  }, 120000);
});
