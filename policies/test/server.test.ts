import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { AnalyzerClient } from '@pulumi/pulumi/proto/analyzer_grpc_pb';
import {
  AnalyzeDiagnostic,
  AnalyzeRequest,
  AnalyzeResponse,
  AnalyzeStackRequest,
  AnalyzerInfo,
  AnalyzerResource,
  AnalyzerResourceOptions,
  EnforcementLevel,
  PolicyType,
} from '@pulumi/pulumi/proto/analyzer_pb';
import { Empty } from 'google-protobuf/google/protobuf/empty_pb';
import { Struct } from 'google-protobuf/google/protobuf/struct_pb';
import { policies } from '../pack';
import { TYPES } from '../rules/view';

/**
 * The pack as the Pulumi CLI runs it: `run-policy-pack` in the pack's directory (ts-node compiles and
 * type-checks index.ts), serving the analyzer gRPC protocol. This test plays the engine's side with
 * requests in the engine's wire format (secrets and unknowns as the engine marks them). Only the
 * engine itself is missing here: the CLI cannot run in this environment.
 */
const POLICIES = path.join(__dirname, '..');
const IMAGE_ID = `sha256:${'c'.repeat(64)}`;
/** How the engine marks a secret and a preview-time unknown in resource properties. */
const secret = (value: unknown) => ({ '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270', value });
const UNKNOWN = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';

let pack: ChildProcess;
let client: AnalyzerClient;

function startPack(): Promise<number> {
  const runner = require.resolve('@pulumi/pulumi/cmd/run-policy-pack', { paths: [POLICIES] });
  pack = spawn(process.execPath, [runner, '127.0.0.1:0', '.'], { cwd: POLICIES, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    pack.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) resolve(Number(line[1]));
    });
    pack.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    pack.on('exit', (code) => reject(new Error(`policy pack exited with ${code}:\n${out}\n${err}`)));
  });
}

function call<Req, Res>(
  method: (req: Req, cb: (e: grpc.ServiceError | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, req, (e, res) => (e ? reject(e) : resolve(res))));
}

function options(): AnalyzerResourceOptions {
  return new AnalyzerResourceOptions();
}

function analyzeRequest(type: string, name: string, props: Record<string, unknown>): AnalyzeRequest {
  return new AnalyzeRequest()
    .setType(type)
    .setName(name)
    .setUrn(`urn:pulumi:dev::kytes::${type}::${name}`)
    .setProperties(Struct.fromJavaScript(props as never))
    .setOptions(options());
}

function stackResource(type: string, name: string, props: Record<string, unknown>): AnalyzerResource {
  return new AnalyzerResource()
    .setType(type)
    .setName(name)
    .setUrn(`urn:pulumi:dev::kytes::${type}::${name}`)
    .setProperties(Struct.fromJavaScript(props as never))
    .setOptions(options());
}

const diagnostics = (res: AnalyzeResponse) =>
  res.getDiagnosticsList().map((d: AnalyzeDiagnostic) => ({
    policy: d.getPolicyname(),
    level: d.getEnforcementlevel(),
    message: d.getMessage(),
    ...(d.getUrn() ? { urn: d.getUrn() } : {}),
  }));

const description = (name: string) => policies.find((p) => p.name === name)?.description ?? '';

const postgres = (extra: Record<string, unknown>) => ({
  name: 'kytes-dev-postgres',
  image: IMAGE_ID,
  healthcheck: { tests: ['CMD', 'pg_isready', '-U', 'postgres'] },
  labels: [{ label: 'kytes.service', value: 'postgres' }],
  ...extra,
});

beforeAll(async () => {
  const port = await startPack();
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 180_000);

afterAll(() => {
  client?.close();
  if (pack?.pid !== undefined && pack.exitCode === null) {
    pack.removeAllListeners('exit');
    pack.kill();
  }
});

describe('the pack served over the analyzer protocol', () => {
  test('announces its name, version and every policy with its level and kind', async () => {
    const info = await call<Empty, AnalyzerInfo>(client.getAnalyzerInfo, new Empty());
    expect([info.getName(), info.getVersion()]).toEqual(['kytes-guard-rails', '0.1.0']);
    const M = EnforcementLevel.MANDATORY;
    const A = EnforcementLevel.ADVISORY;
    const R = PolicyType.POLICY_TYPE_RESOURCE;
    const S = PolicyType.POLICY_TYPE_STACK;
    expect(info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel(), p.getPolicyType()])).toEqual([
      ['image-pinned', M, R],
      ['healthcheck-present', M, R],
      ['no-database-port-on-host', M, R],
      ['no-database-port-on-host-by-image', M, S],
      ['no-privileged-or-docker-socket', M, R],
      ['volume-retained-on-destroy', M, R],
      ['no-plain-secrets', M, R],
      ['memory-limit', A, R],
      ['memory-limit-by-image', A, S],
      ['backup-schedule', A, S],
    ]);
  });

  test('sees a secret env value as plain text, so an undeclared one is refused', async () => {
    const req = analyzeRequest(
      TYPES.container,
      'kytes-dev-postgres-container',
      postgres({
        envs: secret(['POSTGRES_PASSWORD=hunter2', 'TZ=UTC']),
        ports: [{ internal: 5432, external: 5432, ip: '127.0.0.1' }],
      }),
    );
    const res = await call<AnalyzeRequest, AnalyzeResponse>(client.analyze, req);
    expect(diagnostics(res)).toEqual([
      {
        policy: 'no-database-port-on-host',
        level: EnforcementLevel.MANDATORY,
        message: `${description('no-database-port-on-host')}\ncontainer "kytes-dev-postgres" publishes PostgreSQL port 5432 on the host at 127.0.0.1:5432; PostgreSQL, Redis and MongoDB must be reachable only over the stack network: remove this ports entry`,
      },
      {
        policy: 'no-plain-secrets',
        level: EnforcementLevel.MANDATORY,
        message: `${description('no-plain-secrets')}\ncontainer "kytes-dev-postgres": env var POSTGRES_PASSWORD looks secret but is not declared as a Pulumi secret; declare POSTGRES_PASSWORD in the label kytes.secret-env and give it a Pulumi secret, or pass a file path in POSTGRES_PASSWORD_FILE`,
      },
    ]);
  });

  test('accepts the same container once it declares its secret env var and publishes nothing', async () => {
    const labels = [
      { label: 'kytes.service', value: 'postgres' },
      { label: 'kytes.secret-env', value: 'POSTGRES_PASSWORD' },
    ];
    const req = analyzeRequest(
      TYPES.container,
      'kytes-dev-postgres-container',
      postgres({ envs: secret(['POSTGRES_PASSWORD=hunter2']), labels }),
    );
    expect(diagnostics(await call<AnalyzeRequest, AnalyzeResponse>(client.analyze, req))).toEqual([]);
  });

  test('during a preview, says which policy could not run on an unknown image instead of passing it', async () => {
    const req = analyzeRequest(TYPES.container, 'kytes-dev-postgres-container', postgres({ image: UNKNOWN }));
    expect(diagnostics(await call<AnalyzeRequest, AnalyzeResponse>(client.analyze, req))).toEqual([
      {
        policy: 'image-pinned',
        level: EnforcementLevel.ADVISORY,
        message:
          "can't run policy 'image-pinned' from policy pack 'kytes-guard-rails@v0.1.0' during preview: string value at .image can't be known during preview",
      },
    ]);
  });

  test('validates the finished stack: a database recognised through its image ID, and a GitLab without backups', async () => {
    const req = new AnalyzeStackRequest().setResourcesList([
      stackResource(TYPES.remoteImage, 'mongo-image', { name: 'mongo:8.0.16-noble', imageId: IMAGE_ID }),
      stackResource(TYPES.container, 'extra-mongo', {
        name: 'extra-mongo',
        image: IMAGE_ID,
        healthcheck: { tests: ['CMD', 'true'] },
        ports: [{ internal: 27018, external: 27018, ip: '0.0.0.0' }],
      }),
      stackResource(TYPES.container, 'gitlab', {
        name: 'kytes-dev-gitlab-main',
        image: IMAGE_ID,
        healthcheck: { tests: ['CMD', 'true'] },
        labels: [{ label: 'kytes.service', value: 'gitlab' }],
        memory: 4096,
      }),
    ]);
    expect(diagnostics(await call<AnalyzeStackRequest, AnalyzeResponse>(client.analyzeStack, req))).toEqual([
      {
        policy: 'no-database-port-on-host-by-image',
        level: EnforcementLevel.MANDATORY,
        message: `${description('no-database-port-on-host-by-image')}\ncontainer "extra-mongo" publishes port 27018 of a MongoDB container on the host at 0.0.0.0:27018; PostgreSQL, Redis and MongoDB must be reachable only over the stack network: remove this ports entry`,
        urn: `urn:pulumi:dev::kytes::${TYPES.container}::extra-mongo`,
      },
      {
        policy: 'backup-schedule',
        level: EnforcementLevel.ADVISORY,
        message: `${description('backup-schedule')}\nGitLab runs in this stack (container "kytes-dev-gitlab-main") but no backup schedule is installed; add a command:local:Command or command:remote:Command whose name ends with "-backup-schedule" and installs the cron file, as Kytes' ops module does`,
      },
    ]);
  });
});
