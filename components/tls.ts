import * as crypto from 'crypto';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { renderTlsCronFile, renderTlsScript } from '../lib/tls-script';
import { Topology } from '../lib/topology';
import { shellWord } from '../lib/sinks';
import { AS_ROOT, bashScript, HostCommand, hostCommand, HostCommandArgs, installCronFileScript } from '../ops/host';
import { retainedVolume } from './common';

export interface TlsCertificatesArgs {
  /** `topology.tls`: mode, served hostnames and where each certificate comes from; volume and script paths. */
  readonly topology: Topology;
}

/**
 * The certificates nginx serves, on the Docker host: the retained TLS volume (certbot's account key and
 * certificates, copies of host files), the ACME webroot, the `kytes-tls` script, the check-and-copy step
 * that must pass before nginx is (re)created, and the renewal cron file. The ACME issuance itself needs
 * nginx running; {@link TlsCertificates.issueAfter} adds it once the proxy exists.
 */
export class TlsCertificates extends pulumi.ComponentResource {
  /** Retained; present when ACME or host files are used. */
  readonly volume?: docker.Volume;
  /** HTTP-01 challenges (acme mode). */
  readonly webroot?: docker.Volume;
  /** Installs `kytes-tls` into `tls.host.scriptsDir`. */
  readonly script: HostCommand;
  /** `kytes-tls prepare`: host files checked and copied, ACME stand-ins made. nginx depends on it. */
  readonly prepare?: HostCommand;
  /** The cron file running `kytes-tls renew`. */
  readonly renewal?: HostCommand;
  /** `kytes-tls issue`, once {@link issueAfter} is called (acme mode). */
  issue?: HostCommand;
  private readonly scriptHash: string;
  private readonly args: TlsCertificatesArgs;
  private readonly baseName: string;

  constructor(name: string, args: TlsCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
    const t = args.topology;
    const host = t.tls.host;
    // Before super(): a stack without TLS registers nothing.
    if (t.tls.mode === 'off' || !host) throw new Error('TlsCertificates: kytes:tls.mode is off in this topology');
    super('kytes:edge:TlsCertificates', name, {}, opts);
    this.args = args;
    this.baseName = name;
    const text = renderTlsScript(t);
    this.scriptHash = crypto.createHash('sha256').update(text).digest('hex');
    const dir = shellWord(host.scriptsDir);
    const script = shellWord(host.script);

    if (t.tls.volume) this.volume = retainedVolume(`${name}-volume`, t.tls.volume, t.prefix, this);
    // Retained like every Kytes volume (the guard-rails pack insists); it only ever holds pending challenges.
    if (t.tls.acme) this.webroot = retainedVolume(`${name}-acme-webroot`, t.tls.acme.webroot, t.prefix, this);

    // A changed script changes stdin: an update, which re-runs create in place.
    this.script = this.cmd('script', {
      create: bashScript(
        AS_ROOT,
        `install -d -m 0755 ${dir}`,
        `cat > ${dir}/.kytes-tls.tmp`,
        `chmod 0755 ${dir}/.kytes-tls.tmp`,
        `mv -f ${dir}/.kytes-tls.tmp ${script}`,
      ),
      delete: bashScript(
        AS_ROOT,
        `rm -f -- ${script} ${dir}/.kytes-tls.lock`,
        `rmdir --ignore-fail-on-non-empty -- ${dir} 2>/dev/null || true`,
      ),
      stdin: text,
      logging: 'stdoutAndStderr',
    });

    if (this.volume) {
      const volumes = [this.volume, ...(this.webroot ? [this.webroot] : [])];
      this.prepare = this.cmd(
        'prepare',
        {
          create: bashScript(AS_ROOT, `exec ${script} prepare`),
          // Whatever changes the script (names, files, directory) runs the checks again.
          triggers: [this.scriptHash],
          logging: 'stdoutAndStderr',
        },
        [this.script, ...volumes],
      );
      this.renewal = this.cmd(
        'renewal',
        {
          create: installCronFileScript(host.cronFile, 'certificate renewals'),
          delete: bashScript(AS_ROOT, `rm -f -- ${shellWord(host.cronFile)}`),
          stdin: renderTlsCronFile(t),
          logging: 'stdoutAndStderr',
        },
        [this.script],
      );
    }
    this.registerOutputs({ script: host.script, volume: t.tls.volume?.name });
  }

  /**
   * Adds `kytes-tls issue` (acme mode), run once `nginx` serves the HTTP-01 webroot. Certificates live
   * in the retained volume, so after `destroy` + `up` it finds them and requests nothing.
   */
  issueAfter(nginx: pulumi.Resource): HostCommand | undefined {
    const t = this.args.topology;
    if (!t.tls.acme || !t.tls.host || this.issue) return this.issue;
    this.issue = this.cmd(
      'issue',
      {
        create: bashScript(AS_ROOT, `exec ${shellWord(t.tls.host.script)} issue`),
        triggers: [this.scriptHash],
        logging: 'stdoutAndStderr',
      },
      [nginx, ...(this.prepare ? [this.prepare] : [])],
    );
    return this.issue;
  }

  private cmd(suffix: string, a: HostCommandArgs, dependsOn: pulumi.Resource[] = []): HostCommand {
    return hostCommand(`${this.baseName}-${suffix}`, this.args.topology.docker, a, {
      parent: this,
      dependsOn,
      deleteBeforeReplace: true,
    });
  }
}
