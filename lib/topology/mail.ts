import { KytesConfig, SMTP_DEFAULT_PORT } from '../config';
import { MailTopology } from './types';

/** Outgoing mail shared by every GitLab instance and Rocket.Chat, or none when `kytes:smtp` is absent. */
export function deriveMail(config: KytesConfig): MailTopology | undefined {
  const smtp = config.smtp;
  if (!smtp) return undefined;
  return {
    host: smtp.host,
    port: smtp.port ?? SMTP_DEFAULT_PORT[smtp.tls],
    tls: smtp.tls,
    auth: smtp.user ? { user: smtp.user, mechanism: smtp.authentication } : undefined,
    from: smtp.from,
    replyTo: smtp.replyTo,
  };
}
