import { z } from 'zod';
import { DNS_LABEL } from './fields';

/** `kytes:docker`: the Docker engine the stack is deployed to. */
export const dockerSection = z
  .strictObject({
    host: z
      .string()
      .regex(/^(unix:\/\/\/.+|ssh:\/\/([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+(:\d{1,5})?)$/, {
        error: 'unix:///path/to/docker.sock or ssh://user@host[:port]',
      })
      .default('unix:///var/run/docker.sock')
      .describe(
        'Docker engine to deploy to. Default `unix:///var/run/docker.sock`; `ssh://user@host[:port]` for a remote host.',
      ),
    sshOpts: z
      .array(z.string())
      .default([])
      .describe('Extra ssh options for an `ssh://` host, e.g. `["-i", "~/.ssh/kytes"]`. Default none.'),
  })
  .default({ host: 'unix:///var/run/docker.sock', sshOpts: [] })
  .describe('Where the containers run.');

/** `kytes:network`: the one bridge network of the stack. */
export const networkSection = z
  .strictObject({
    name: z
      .string()
      .regex(DNS_LABEL, { error: 'a DNS label' })
      .optional()
      .describe('Name of the user-defined bridge network. Default: the prefix.'),
    subnet: z
      .string()
      .regex(/^(10|172|192)\.\d{1,3}\.\d{1,3}\.0\/(1[6-9]|2[0-4])$/, {
        error: 'a private IPv4 CIDR from /16 to /24 such as 172.28.5.0/24',
      })
      .optional()
      .describe(
        'Subnet of the network; GitLab trusts it as its proxy and health-check source. Default: a /24 in 172.18–31 derived from the prefix.',
      ),
  })
  .default({})
  .describe('The one bridge network every service joins.');
