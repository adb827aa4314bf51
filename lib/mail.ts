import { MailTopology } from './topology';

/**
 * How `kytes:smtp` reaches GitLab (gitlab.rb keys, omnibus-gitlab doc/settings/smtp.md) and Rocket.Chat
 * (`OVERWRITE_SETTING_<id>` for its Email → SMTP settings). Setting names and sources: docs/versions.md,
 * "Mail (issue 9)". The password is never here: each product reads it from a secret environment variable.
 */

/** The Rocket.Chat variable holding the SMTP password (its setting id `SMTP_Password`). */
export const ROCKETCHAT_SMTP_PASSWORD_ENV = 'OVERWRITE_SETTING_SMTP_Password';

/** What templates/gitlab.rb.hbs renders for mail; every string goes through its `rb` quoting helper. */
export interface GitlabSmtpView {
  readonly host: string;
  readonly port: number;
  /** HELO/EHLO name: the instance's own hostname rather than Net::SMTP's `localhost.localdomain`. */
  readonly heloDomain: string;
  /** `smtp_tls`: implicit TLS. */
  readonly implicitTls: boolean;
  /** `smtp_enable_starttls_auto`; omnibus refuses both true at once. */
  readonly starttlsAuto: boolean;
  /** `smtp_openssl_verify_mode`, or null when nothing is encrypted. */
  readonly verifyMode: 'peer' | null;
  readonly user: string | null;
  readonly mechanism: string | null;
  readonly passwordEnv: string | null;
  readonly from: string;
  readonly replyTo: string | null;
}

/** The gitlab.rb view of one instance's mail, or null (GitLab's mail is then switched off). */
export function gitlabSmtpView(
  mail: MailTopology | undefined,
  hostname: string,
  passwordEnv: string,
): GitlabSmtpView | null {
  if (!mail) return null;
  return {
    host: mail.host,
    port: mail.port,
    heloDomain: hostname,
    implicitTls: mail.tls === 'tls',
    starttlsAuto: mail.tls === 'starttls',
    verifyMode: mail.tls === 'none' ? null : 'peer',
    user: mail.auth?.user ?? null,
    mechanism: mail.auth?.mechanism ?? null,
    passwordEnv: mail.auth ? passwordEnv : null,
    from: mail.from,
    replyTo: mail.replyTo ?? null,
  };
}

/**
 * Rocket.Chat's SMTP settings as `OVERWRITE_SETTING_*` variables (applied on every start). Its mail URL is
 * `smtps://` for implicit TLS; with `smtp://`, `SMTP_IgnoreTLS=false` lets it upgrade with STARTTLS and
 * `true` keeps the connection plain. An empty user name means no authentication (Rocket.Chat adds
 * credentials only when both user name and password are set). Without `kytes:smtp`, nothing is set.
 */
export function rocketchatSmtpEnv(mail: MailTopology | undefined): Record<string, string> {
  if (!mail) return {};
  return {
    OVERWRITE_SETTING_SMTP_Protocol: mail.tls === 'tls' ? 'smtps' : 'smtp',
    OVERWRITE_SETTING_SMTP_Host: mail.host,
    OVERWRITE_SETTING_SMTP_Port: String(mail.port),
    OVERWRITE_SETTING_SMTP_IgnoreTLS: mail.tls === 'none' ? 'true' : 'false',
    OVERWRITE_SETTING_SMTP_Username: mail.auth?.user ?? '',
    OVERWRITE_SETTING_From_Email: mail.from,
  };
}
