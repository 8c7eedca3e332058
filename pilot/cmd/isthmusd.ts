// isthmusd: the control plane. Flag names follow istiod's `pilot-discovery discovery`.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { parseListenAddress } from '../bootstrap/address.js';
import { startIsthmus } from '../bootstrap/server.js';
import { KubeClient } from '../kube/client.js';
import { projectRoot } from '../util/project-root.js';

const root = projectRoot(import.meta.url);

/** A pod's environment: the API server's address and a mounted service-account token. */
function inCluster(): boolean {
  return !!process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
}

function fail(message: string): never {
  process.stderr.write(`isthmusd: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const program = new Command('isthmusd')
    .description('Isthmus control plane: serves xDS for Envoy sidecars and proxyless gRPC')
    .option('--configDir <dir>', 'directory of Istio/Kubernetes YAML to serve (watched); default: Kubernetes inside a pod, else the bundled example mesh')
    .option('--kubeconfig <file>', 'read config and services from the Kubernetes API server of this kubeconfig (Kubernetes mode)')
    .option('--grpcAddr <addr>', 'plaintext xDS gRPC address', ':15010')
    .option('--secureGRPCAddr <addr>', 'xDS and CA over TLS (empty to disable)', ':15012')
    .option('--httpsAddr <addr>', 'admission webhooks /inject and /validate over HTTPS (empty to disable)', ':15017')
    .option('--tlsCertFile <file>', 'webhook serving certificate when the CA is disabled')
    .option('--tlsKeyFile <file>', 'webhook serving key when the CA is disabled')
    .option('--injectConfigDir <dir>', 'Istio injection config (files config and values)', '/var/lib/istio/inject')
    .option('--meshConfig <file>', 'mesh config file', '/etc/istio/config/mesh')
    .option('--httpAddr <addr>', 'HTTP debug address (/ready, /debug/*)', ':8080')
    .option('--monitoringAddr <addr>', 'Prometheus /metrics address', ':15014')
    .option('--domain <suffix>', 'DNS domain suffix of services', 'cluster.local')
    .option('--log_output_level <level>', 'log level (debug, info, warn, error)', process.env.LOG_LEVEL ?? 'info')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.split('\n')[0] + '\n') })
    .allowExcessArguments(false);
  try {
    program.parse();
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    throw e;
  }
  const o = program.opts<{ kubeconfig?: string; httpsAddr: string; tlsCertFile?: string; tlsKeyFile?: string; injectConfigDir: string; meshConfig: string; configDir?: string; grpcAddr: string; secureGRPCAddr: string; httpAddr: string; monitoringAddr: string; domain: string; log_output_level: string }>();

  let addrs;
  try {
    addrs = {
      grpcAddr: parseListenAddress('--grpcAddr', o.grpcAddr),
      secureGrpcAddr: o.secureGRPCAddr ? parseListenAddress('--secureGRPCAddr', o.secureGRPCAddr) : undefined,
      httpsAddr: o.httpsAddr ? parseListenAddress('--httpsAddr', o.httpsAddr) : undefined,
      httpAddr: parseListenAddress('--httpAddr', o.httpAddr),
      monitoringAddr: parseListenAddress('--monitoringAddr', o.monitoringAddr),
    };
  } catch (e) {
    fail((e as Error).message);
  }
  // As istiod: config from files when a directory is named, from the Kubernetes API otherwise.
  // Outside a cluster, and without a kubeconfig, the bundled example mesh keeps `npm start` working.
  let kube: KubeClient | undefined;
  let configDir: string | undefined;
  if (o.configDir === undefined && (o.kubeconfig || inCluster())) {
    try {
      kube = await KubeClient.load(o.kubeconfig);
    } catch (e) {
      fail(`cannot load ${o.kubeconfig ? `--kubeconfig ${o.kubeconfig}` : 'the in-cluster service account'}: ${(e as Error).message}`);
    }
  } else {
    if (o.kubeconfig) fail('--configDir and --kubeconfig are exclusive: config comes from files or from the Kubernetes API');
    configDir = resolve(o.configDir ?? resolve(root, 'examples'));
    if (!existsSync(configDir) || !statSync(configDir).isDirectory()) fail(`--configDir ${configDir} is not a directory`);
  }
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
  if (!levels.includes(o.log_output_level)) fail(`invalid --log_output_level ${JSON.stringify(o.log_output_level)}: expected one of ${levels.join(', ')}`);

  const log = pino({ level: o.log_output_level, base: { app: 'isthmusd' } });
  log.info(kube ? { kubernetes: kube.server } : { configDir }, 'starting isthmusd');
  let server;
  try {
    if (addrs.httpsAddr && !addrs.secureGrpcAddr && !(o.tlsCertFile && o.tlsKeyFile)) {
      fail('--httpsAddr needs a serving certificate: enable the CA (--secureGRPCAddr) or pass --tlsCertFile and --tlsKeyFile');
    }
    server = await startIsthmus({
      configDir,
      kube,
      ...addrs,
      tlsCertFile: o.tlsCertFile,
      tlsKeyFile: o.tlsKeyFile,
      injectConfigDir: o.injectConfigDir,
      meshConfigFile: o.meshConfig,
      domainSuffix: o.domain,
      log,
    });
  } catch (e) {
    fail(`cannot start: ${(e as Error).message}`);
  }
  log.info({ ...server.addresses }, 'isthmusd ready');
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    void server.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

await main();
