// `isthmusctl kube-inject`: istioctl's kube-inject, offline. Injects the Istio sidecar into the
// workloads of YAML files (multi-document, `kind: List`; other documents pass through unchanged)
// from the injection configuration in Istio's formats:
//   --injectConfigFile  the istio-sidecar-injector ConfigMap's `config` (or a bare template)
//   --valuesFile        its `values`
//   --meshConfigFile    the `istio` ConfigMap's `mesh` (over Istio's defaults)
//   --operatorFileName  an IstioOperator: its spec.values and spec.meshConfig
// isthmusctl reads no cluster, so these files are required where istioctl would fall back to
// ConfigMaps. Several -f files are injected in order (each distinct file once).

import { createWriteStream, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { parseAllDocuments } from 'yaml';
import {
  featuresFromEnv, intoResourceFile, meshConfigFromYaml, readInjectConfig, ValuesConfig,
  type InjectConfig, type ProtoJson,
} from '../webhook/inject/index.js';

export interface KubeInjectFlags {
  filename: string[];
  output?: string;
  meshConfigFile?: string;
  injectConfigFile?: string;
  valuesFile?: string;
  operatorFileName?: string;
  meshConfigMapName: string;
  injectConfigMapName: string;
  webhookConfig: string;
  revision?: string;
  istioNamespace: string;
}

export interface KubeInjectIO {
  cwd?: string;
  env?: Record<string, string | undefined>;
  stdin?: () => string;
  stdout(s: string): void;
  stderr(s: string): void;
}

class UsageError extends Error {}

function multiError(errs: string[]): string {
  return `${errs.length} error${errs.length > 1 ? 's' : ''} occurred:\n${errs.map(e => `\t* ${e}`).join('\n')}\n\n`;
}

/** Go's os.Open / os.ReadFile error text. */
function readFile(path: string, cwd: string, display = path): string {
  try {
    return readFileSync(resolve(cwd, path), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied'
      : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    throw new UsageError(`open ${display}: ${reason}`);
  }
}

/** IstioOperator spec.values (as the injector's values) and spec.meshConfig (over Istio's defaults). */
function iopConfigs(text: string): { values: string; meshConfig?: ProtoJson } {
  let values: Record<string, unknown> = {};
  let mesh: Record<string, unknown> | undefined;
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new UsageError(`could not parse IstioOperator: ${doc.errors[0].message}`);
    const o = doc.toJS() as { kind?: string; spec?: { values?: Record<string, unknown>; meshConfig?: Record<string, unknown> } } | null;
    if (!o) continue;
    if (o.kind !== undefined && o.kind !== 'IstioOperator') continue;
    if (o.spec?.values) values = { ...values, ...o.spec.values };
    if (o.spec?.meshConfig) mesh = { ...mesh, ...o.spec.meshConfig };
  }
  return { values: JSON.stringify(values), meshConfig: mesh ? meshConfigFromYaml(JSON.stringify(mesh)) : undefined };
}

/** The kube-inject run itself (RunE): throws UsageError/Error with istioctl's messages. */
export async function kubeInject(flags: KubeInjectFlags, io: KubeInjectIO): Promise<void> {
  const cwd = io.cwd ?? process.cwd();
  const env = io.env ?? process.env;
  const files = [...new Set(flags.filename.filter(f => f !== ''))];
  const errs: string[] = [];
  if (files.length === 0) errs.push('filename not specified (see --filename or -f)');
  if (!flags.meshConfigFile && !flags.meshConfigMapName && !flags.operatorFileName) {
    errs.push('--meshConfigFile or --meshConfigMapName or --operatorFileName must be set');
  }
  if (errs.length) throw new UsageError(multiError(errs));

  const inputs = files.map(f => (f === '-' ? (io.stdin ? io.stdin() : readFileSync(0, 'utf8')) : readFile(f, cwd)));

  // Configuration: IstioOperator first, then files (istioctl's setupKubeInjectParameters).
  let values = '';
  let meshConfig: ProtoJson | undefined;
  if (flags.operatorFileName) {
    const iop = iopConfigs(readFile(flags.operatorFileName, cwd));
    values = iop.values === '{}' ? '' : iop.values;
    meshConfig = iop.meshConfig;
  }
  const ns = flags.istioNamespace;
  if (!meshConfig) {
    if (flags.meshConfigFile) {
      try {
        meshConfig = meshConfigFromYaml(readFile(flags.meshConfigFile, cwd));
      } catch (e) {
        if (e instanceof UsageError) throw new UsageError(`cannot read mesh config file: ${e.message}`);
        throw e;
      }
    } else {
      throw new UsageError(`could not read valid configmap ${JSON.stringify(flags.meshConfigMapName)} from namespace ${JSON.stringify(ns)}: ` +
        'isthmusctl kube-inject does not read cluster ConfigMaps - Use --meshConfigFile or --operatorFileName');
    }
  }
  let config: InjectConfig;
  const warnings: string[] = [];
  if (flags.injectConfigFile) {
    try {
      config = readInjectConfig(readFile(flags.injectConfigFile, cwd), { env, warn: m => warnings.push(m) });
    } catch (e) {
      throw new UsageError(multiError([(e as Error).message, 'loading --injectConfigFile']));
    }
  } else {
    throw new UsageError(`could not find valid configmap ${JSON.stringify(flags.injectConfigMapName)} from namespace  ${JSON.stringify(ns)}: ` +
      'isthmusctl kube-inject does not read cluster ConfigMaps - Use --injectConfigFile');
  }
  if (values === '') {
    if (flags.valuesFile) values = readFile(flags.valuesFile, cwd);
    else {
      throw new UsageError(`could not find valid configmap ${JSON.stringify(flags.injectConfigMapName)} from namespace  ${JSON.stringify(ns)}: ` +
        'isthmusctl kube-inject does not read cluster ConfigMaps - Use --valuesFile');
    }
  }
  const rev = !flags.revision || flags.revision === 'default' ? '' : flags.revision;
  const opts = {
    templates: config.templates,
    values: new ValuesConfig(values),
    meshConfig,
    revision: rev,
    features: featuresFromEnv(env),
    warn: (m: string) => warnings.push(m),
  };
  let out = '';
  let failure: unknown;
  try {
    for (const text of inputs) out += intoResourceFile(text, opts);
  } catch (e) {
    failure = e;
  }
  if (flags.output) {
    await new Promise<void>((res, rej) => {
      const w = createWriteStream(resolve(cwd, flags.output!));
      w.on('error', rej);
      w.end(out, () => res());
    });
  } else {
    io.stdout(out);
  }
  if (warnings.length) io.stderr('\n' + warnings.map(w => w + '\n').join(''));
  if (failure) throw failure;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** The commander command (added to isthmusctl). */
export function kubeInjectCommand(io?: Partial<KubeInjectIO>): Command {
  return new Command('kube-inject')
    .description('Inject Istio sidecar into Kubernetes pod resources')
    .addHelpText('after', `
Examples:
  # Update resources on the fly before applying.
  kubectl apply -f <(isthmusctl kube-inject -f <resource.yaml> --injectConfigFile inject-config.yaml \\
      --meshConfigFile mesh.yaml --valuesFile values.json)

  # Capture cluster configuration for later use with kube-inject
  kubectl -n istio-system get cm istio-sidecar-injector -o jsonpath="{.data.config}" > /tmp/inj-template.tmpl
  kubectl -n istio-system get cm istio -o jsonpath="{.data.mesh}" > /tmp/mesh.yaml
  kubectl -n istio-system get cm istio-sidecar-injector -o jsonpath="{.data.values}" > /tmp/values.json
`)
    .option('-f, --filename <file>', 'Input Kubernetes resource filename ("-" for stdin); repeatable', collect, [] as string[])
    .option('-o, --output <file>', 'Modified output Kubernetes resource filename')
    .option('--meshConfigFile <file>', 'Mesh configuration filename. Takes precedence over --meshConfigMapName if set')
    .option('--injectConfigFile <file>', 'Injection configuration filename. Cannot be used with --injectConfigMapName')
    .option('--valuesFile <file>', 'Injection values configuration filename.')
    .option('--operatorFileName <file>', 'Path to file containing IstioOperator custom resources. If configs from files like ' +
      'meshConfigFile, valuesFile are provided, they will be overridden by iop config values.')
    .option('--meshConfigMapName <name>', 'ConfigMap name for Istio mesh configuration, key should be "mesh"', 'istio')
    .option('--injectConfigMapName <name>', 'ConfigMap name for Istio sidecar injection, key should be "config".', 'istio-sidecar-injector')
    .option('--webhookConfig <name>', 'MutatingWebhookConfiguration name for Istio', 'istio-sidecar-injector')
    .option('-r, --revision <revision>', 'Control plane revision')
    .option('-i, --istioNamespace <namespace>', 'Istio system namespace', 'istio-system')
    .action(async (flags: KubeInjectFlags) => {
      await kubeInject(flags, {
        cwd: io?.cwd, env: io?.env, stdin: io?.stdin,
        stdout: io?.stdout ?? (s => process.stdout.write(s)),
        stderr: io?.stderr ?? (s => process.stderr.write(s)),
      });
    });
}

/** Runs `kube-inject ARGS` in-process, capturing what the CLI would print (tests, conformance). */
export async function runKubeInject(args: string[], ctx: { cwd?: string; env?: Record<string, string | undefined>; stdin?: string } = {}):
  Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = '', stderr = '';
  const cmd = kubeInjectCommand({
    cwd: ctx.cwd, env: ctx.env, stdin: ctx.stdin === undefined ? undefined : () => ctx.stdin!,
    stdout: s => { stdout += s; }, stderr: s => { stderr += s; },
  }).exitOverride().configureOutput({ writeOut: s => { stdout += s; }, writeErr: s => { stderr += s; } });
  try {
    await cmd.parseAsync(args, { from: 'user' });
    return { stdout, stderr, exitCode: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { stdout, stderr, exitCode: e.exitCode };
    stderr += `Error: ${(e as Error).message}\n`;
    return { stdout, stderr, exitCode: 1 };
  }
}
