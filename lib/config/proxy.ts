import { z } from 'zod';
import { bindAddress, port } from './fields';

/** `kytes:proxy`: the nginx reverse proxy. */
export const proxySection = z
  .strictObject({
    httpPort: port('the host port nginx is published on')
      .default(80)
      .describe('Host port nginx is published on; also its listen port inside the container. Default 80.'),
    bindAddress: bindAddress
      .default('0.0.0.0')
      .describe('Host address nginx is published on. Default `0.0.0.0`; `127.0.0.1` keeps it local.'),
    publicScheme: z
      .enum(['http', 'https'], { error: 'one of http, https' })
      .default('http')
      .describe('Scheme users see. `https` when TLS is terminated in front of Kytes. Default `http`.'),
    publicPort: port('the port users see in URLs')
      .optional()
      .describe('Port users see in URLs. Default: `httpPort` for http, 443 for https.'),
  })
  .default({ httpPort: 80, bindAddress: '0.0.0.0', publicScheme: 'http' })
  .describe('The nginx reverse proxy in front of every web service.');
