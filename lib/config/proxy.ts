import { z } from 'zod';
import { bindAddress, port } from './fields';

/** `kytes:proxy`: the nginx reverse proxy. */
export const proxySection = z
  .strictObject({
    httpPort: port('the host port nginx is published on')
      .default(80)
      .describe('Host port nginx is published on; also its listen port inside the container. Default 80.'),
    httpsPort: port('the host port nginx serves HTTPS on')
      .default(443)
      .describe(
        'Host port nginx serves HTTPS on when `kytes:tls.mode` is not `off`; also its listen port inside the container. Default 443.',
      ),
    bindAddress: bindAddress
      .default('0.0.0.0')
      .describe('Host address nginx is published on. Default `0.0.0.0`; `127.0.0.1` keeps it local.'),
    publicScheme: z
      .enum(['http', 'https'], { error: 'one of http, https' })
      .optional()
      .describe(
        'Scheme users see. Default `https` when `kytes:tls.mode` is not `off`, else `http`; set `https` with TLS off when another proxy terminates TLS in front of Kytes.',
      ),
    publicPort: port('the port users see in URLs')
      .optional()
      .describe(
        'Port users see in URLs. Default: `httpsPort` when Kytes terminates TLS, 443 for https terminated in front, else `httpPort`.',
      ),
  })
  .default({ httpPort: 80, httpsPort: 443, bindAddress: '0.0.0.0' })
  .describe('The nginx reverse proxy in front of every web service.');
