import { z } from 'zod';
import { checked, DNS_LABEL, subnetProblem } from './fields';
import { dockerHostProblem, hostKeyProblem, sshOptsProblems } from './ssh';

/** `kytes:docker`: the Docker engine the stack is deployed to, and how every connection reaches it. */
export const dockerSection = z
  .strictObject({
    host: checked(dockerHostProblem)
      .default('unix:///var/run/docker.sock')
      .describe(
        'Docker engine to deploy to. Default `unix:///var/run/docker.sock`; `ssh://user@host[:port]` for a remote host.',
      ),
    sshOpts: z
      .array(z.string())
      .superRefine((opts, ctx) => {
        for (const [i, message] of sshOptsProblems(opts)) ctx.addIssue({ code: 'custom', message, path: [i] });
      })
      .default([])
      .describe(
        'Extra ssh options for an `ssh://` host, e.g. `["-i", "~/.ssh/kytes"]`, used by every connection (Docker provider, post-start steps, ops commands, `npm run backup`). Default none.',
      ),
    hostKey: checked(hostKeyProblem)
      .optional()
      .describe(
        "Public host key of an `ssh://` host (`ssh-ed25519 AAAA…`, from `ssh-keyscan -t ed25519 HOST`); every connection accepts only it. Default: the key in the user's known_hosts (an unknown host is refused, never accepted).",
      ),
  })
  .superRefine((d, ctx) => {
    if (!d.host.startsWith('ssh://')) {
      if (d.sshOpts.length > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['sshOpts'],
          message: 'no ssh options for a unix:// host (they would be ignored)',
        });
      }
      if (d.hostKey !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['hostKey'],
          message: 'no host key for a unix:// host (it would be ignored)',
        });
      }
    }
  })
  .default({ host: 'unix:///var/run/docker.sock', sshOpts: [] })
  .describe('Where the containers run.');

/** Names Docker gives its predefined networks: a user-defined network cannot take them. */
const PREDEFINED_NETWORKS = ['bridge', 'host', 'none', 'default'];

/** `kytes:network`: the one bridge network of the stack. */
export const networkSection = z
  .strictObject({
    name: z
      .string()
      .regex(DNS_LABEL, { error: 'a DNS label' })
      .refine((n) => !PREDEFINED_NETWORKS.includes(n), {
        error: `a name of its own, not one of Docker's predefined networks (${PREDEFINED_NETWORKS.join(', ')})`,
      })
      .optional()
      .describe('Name of the user-defined bridge network. Default: the prefix.'),
    subnet: z
      .string()
      .optional()
      .describe(
        "Subnet of the network, private, /16 to /28, outside Docker's default address pools; GitLab trusts it as its proxy and health-check source. Default: a /24 in 172.16.0.0/16 derived from the prefix.",
      ),
    allowDockerPools: z
      .boolean({ error: 'true or false' })
      .default(false)
      .describe(
        "Allow a `subnet` inside Docker's default address pools (172.17.0.0/16 to 172.31.0.0/16, 192.168.0.0/16), for a daemon configured with other pools. Default false.",
      ),
  })
  .superRefine((n, ctx) => {
    if (n.subnet === undefined) return;
    const problem = subnetProblem(n.subnet, n.allowDockerPools);
    if (problem) ctx.addIssue({ code: 'custom', path: ['subnet'], message: problem });
  })
  .default({ allowDockerPools: false })
  .describe('The one bridge network every service joins.');
