import { parseConfig } from '../lib/config';
const M = { 'kytes:masterSecret': 'x'.repeat(40) };
const sec = (keys: string[]) => (k: string) => k === 'kytes:masterSecret' || keys.includes(k);
const tryit = (label: string, all: Record<string,string>, secrets: string[] = []) => {
  try { const c = parseConfig({ ...M, ...all }, sec(secrets)); console.log(label, 'OK', JSON.stringify(c.restore), JSON.stringify(c.network)); }
  catch (e) { console.log(label, (e as Error).message.split('\n').slice(1).join(' | '), (e as any).__pulumiRunError); }
};
tryit('proto', { 'kytes:__proto__': '{"restore":{"from":"20261122T040000Z"}}' });
tryit('proto-nested', { 'kytes:backup': '{"__proto__":{"dir":"/"}}' });
tryit('near', { 'kyte:domain': 'x.io', 'Kytes:domain': 'y.io', 'docker:host': 'z' });
tryit('path', { 'kytes:proxy.httpPort': '80' });
tryit('secret trigger', { 'kytes:backup': '{"trigger":"s3cr3t-value"}' }, ['kytes:backup']);
tryit('secret bad', { 'kytes:backup': '{"trigger":"s3cr3t\\u0000", "dir":"rel"}' }, ['kytes:backup']);
tryit('nul admin', { 'kytes:admin': '{"name":"A\\u0000B"}' });
tryit('tz', { 'kytes:timezone': 'europe/paris' });
tryit('tz2', { 'kytes:timezone': '+05:00' });
tryit('cron', { 'kytes:backup': '{"schedule":"0 3 30 2 *"}' });
tryit('dir', { 'kytes:backup': '{"dir":"/var/backups/../../etc"}' });
tryit('dir/', { 'kytes:backup': '{"dir":"/"}' });
tryit('offhost', { 'kytes:backup': '{"dir":"/srv/b","offHost":"/srv/b/x"}' });
tryit('offhost2', { 'kytes:backup': '{"offHost":"backup@-oProxyCommand:/srv/b"}' });
tryit('ssh', { 'kytes:docker': '{"host":"ssh://-oProxyCommand=x"}' });
tryit('sshopts', { 'kytes:docker': '{"host":"ssh://a@b","sshOpts":["-i","~/.ssh/k","-o","StrictHostKeyChecking=no","-p","22","evil"]}' });
tryit('subnet', { 'kytes:network': '{"subnet":"172.217.0.0/16"}' });
tryit('subnet2', { 'kytes:network': '{"subnet":"10.999.0.0/16"}' });
tryit('subnet3', { 'kytes:network': '{"subnet":"10.1.2.3/16"}' });
tryit('subnet4', { 'kytes:network': '{"subnet":"172.17.5.0/24"}' });
tryit('subnet5', { 'kytes:network': '{"subnet":"172.17.5.0/24","allowDockerPools":true}' });
tryit('net', { 'kytes:network': '{"name":"host"}' });
tryit('port', { 'kytes:docker': '{"host":"ssh://a@b:99999"}' });
tryit('bind', { 'kytes:proxy': '{"bindAddress":"255.255.255.255"}' });
tryit('bind2', { 'kytes:proxy': '{"bindAddress":"224.0.0.1"}' });
tryit('ipname', { 'kytes:domain': '10.0.0.1' });
tryit('rs', { 'kytes:mongo': '{"replicaSet":"--port"}' });
tryit('hostkey', { 'kytes:docker': '{"host":"ssh://a@b","hostKey":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}' });
tryit('hostkey bad', { 'kytes:docker': '{"host":"ssh://a@b","hostKey":"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"}' });
tryit('master plain', {}, []);
