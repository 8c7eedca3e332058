// `isthmusctl validate -f FILE...`: Isthmus' config checks (the CRD schema and Istio's validation
// rules), reported as `istioctl validate` does: `"FILE" is valid`, `"FILE" has warnings:`, and
// `Error: N errors occurred:` with one `* Kind/namespace/name: message` per error, exit code 1.
// Like istioctl, everything is written to stderr.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Command, Option } from 'commander';
import { parseObject, readYamlDocuments, type ConfigError } from '../pilot/config/parse.js';
import { lookupKind } from '../pilot/config/kinds.js';

const MISSING_FILENAME = `error: you must specify resources by --filename.
Example resource specifications include:
   '-f rsrc.yaml'
   '--filename=rsrc.json'`;
const FILE_EXTENSIONS = new Set(['.json', '.yaml', '.yml']);
const DOCS = 'https://istio.io/latest/docs/ops/';
const DEPLOYMENT_REQUIREMENTS = `${DOCS}deployment/application-requirements/`;
const PROTOCOL_SELECTION = `${DOCS}configuration/traffic-management/protocol-selection/`;
const NAME_LABELS = ['service.istio.io/canonical-name', 'app.kubernetes.io/name', 'app'];
const REVISION_LABELS = ['service.istio.io/canonical-revision', 'app.kubernetes.io/version', 'version'];
const PROTOCOLS = new Set(['tcp', 'udp', 'grpc', 'grpc-web', 'http', 'http_proxy', 'http2', 'https', 'tls', 'mongo', 'redis', 'mysql']);

/** Node's error codes as Go's os package words them. */
function osError(op: string, path: string, e: NodeJS.ErrnoException): string {
  const words: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    ENOTDIR: 'not a directory',
    EISDIR: 'is a directory',
  };
  return `${op} ${path}: ${words[e.code ?? ''] ?? e.message}`;
}

/** Go's multierror list, as istioctl prints errors and warnings. */
function errorList(errors: string[]): string {
  const head = errors.length === 1 ? '1 error occurred' : `${errors.length} errors occurred`;
  return `${head}:\n\t${errors.map((e) => `* ${e}`).join('\n\t')}\n\n`;
}

const warningList = (warnings: string[]) => `\n\t${warnings.map((w) => `* ${w}`).join('\n\t')}\n`;

interface Options {
  defaultNamespace: string;
  istioNamespace: string;
}

interface Findings {
  errors: string[];
  warnings: string[];
  /** Lines istioctl writes while validating (Deployment label hints). */
  notes: string[];
}

function meta(obj: Record<string, unknown>): { name: string; namespace: string; labels: Record<string, string> } {
  const m = (obj.metadata ?? {}) as Record<string, unknown>;
  return {
    name: typeof m.name === 'string' ? m.name : '',
    namespace: typeof m.namespace === 'string' ? m.namespace : '',
    labels: (m.labels && typeof m.labels === 'object' ? m.labels : {}) as Record<string, string>,
  };
}

function describe(e: ConfigError): string {
  // Istio's rules word their own messages; schema findings need the field to make sense.
  return e.origin === 'rules' || !e.field ? e.message : `${e.field}: ${e.message}`;
}

/** istioctl's checks of a Service outside the Istio namespace: ports named for protocol selection. */
function servicePortErrors(obj: Record<string, unknown>, m: { name: string; namespace: string }): string[] {
  const errs: string[] = [];
  const who = JSON.stringify(`${m.name}/${m.namespace}/:`);
  const ports = ((obj.spec as Record<string, unknown> | undefined)?.ports ?? []) as Record<string, unknown>[];
  for (const p of Array.isArray(ports) ? ports : []) {
    if (typeof p.protocol === 'string' && p.protocol.toUpperCase() === 'UDP') continue;
    if (typeof p.appProtocol === 'string') {
      if (!PROTOCOLS.has(p.appProtocol.toLowerCase())) {
        errs.push(`service ${who} doesn't follow Istio protocol selection. This is not recommended, See ${PROTOCOL_SELECTION}`);
      }
    } else if (typeof p.name !== 'string') {
      errs.push(`service ${who} has an unnamed port. This is not recommended, See ${DEPLOYMENT_REQUIREMENTS}`);
    } else {
      const prefix = p.name.split('-')[0]!.toLowerCase();
      if (!PROTOCOLS.has(prefix)) {
        errs.push(`service ${who} port ${JSON.stringify(p.name)} does not follow the Istio naming convention. See ${DEPLOYMENT_REQUIREMENTS}`);
      }
    }
  }
  return errs;
}

function deploymentNote(obj: Record<string, unknown>, m: { name: string; namespace: string }): string | undefined {
  const template = ((obj.spec as Record<string, unknown> | undefined)?.template ?? undefined) as Record<string, unknown> | undefined;
  const labels = ((template?.metadata as Record<string, unknown> | undefined)?.labels ?? {}) as Record<string, string>;
  const has = (keys: string[]) => keys.some((k) => k in labels);
  if (has(NAME_LABELS) && has(REVISION_LABELS)) return undefined;
  const shown = `map[${Object.keys(labels).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(labels[k])}`).join(' ')}]`;
  return `deployment ${JSON.stringify(`${m.name}/${m.namespace}:`)} may not provide Istio metrics and telemetry labels: ${shown}. See ${DEPLOYMENT_REQUIREMENTS}\n`;
}

function validateObject(obj: Record<string, unknown>, opts: Options, out: Findings): void {
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const m = meta(obj);
  const prefix = `${kind}/${m.namespace}/${m.name}:`;
  const info = lookupKind(apiVersion, kind);
  if (info && info.group.endsWith('istio.io')) {
    const parsed = parseObject(obj, opts.defaultNamespace || 'default');
    if ('ignored' in parsed) return;
    for (const w of parsed.warnings ?? []) out.warnings.push(`${prefix} ${describe(w.error)}`);
    if ('errors' in parsed) for (const e of parsed.errors) out.errors.push(`${prefix} ${describe(e.error)}`);
    return;
  }
  if (kind === 'List' && Array.isArray(obj.items)) {
    for (const item of obj.items) if (item && typeof item === 'object') validateObject(item as Record<string, unknown>, opts, out);
    return;
  }
  if (m.namespace === (opts.istioNamespace || 'istio-system')) return;
  if (kind === 'Service' && apiVersion === 'v1') {
    for (const e of servicePortErrors(obj, m)) out.errors.push(`${prefix} ${e}`);
  } else if (kind === 'Deployment') {
    const note = deploymentNote(obj, m);
    if (note) out.notes.push(note);
  }
  // Other Kubernetes objects are not Istio's to validate.
}

function validateText(path: string, text: string, opts: Options, out: Findings): void {
  for (const doc of readYamlDocuments(text)) {
    if (doc.error) {
      out.errors.push(`failed to decode file ${path}: ${doc.error}`);
      return;
    }
    const v = doc.value;
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) {
      out.errors.push(`failed to decode file ${path}: a document must be a mapping`);
      return;
    }
    validateObject(v as Record<string, unknown>, opts, out);
  }
}

/** The files under a directory with a YAML or JSON extension, in lexical order (filepath.Walk). */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p));
    else if (FILE_EXTENSIONS.has(extname(p))) out.push(p);
  }
  return out;
}

/** Runs the validation; returns the text for stderr and the exit code. */
export function runValidate(filenames: string[], opts: Options, stdin: () => string = () => readFileSync(0, 'utf8')): { output: string; code: number } {
  if (filenames.length === 0) return { output: `Error: ${MISSING_FILENAME}\n`, code: 1 };
  const errors: string[] = [];
  const warnings = new Map<string, string[]>();
  const processed: string[] = [];
  let notes = '';
  const processFile = (path: string) => {
    let text: string;
    try {
      text = path === '-' ? stdin() : readFileSync(path, 'utf8');
    } catch (e) {
      errors.push(`cannot read file ${JSON.stringify(path)}: ${osError('open', path, e as NodeJS.ErrnoException)}`);
      return;
    }
    const found: Findings = { errors: [], warnings: [], notes: [] };
    validateText(path, text, opts, found);
    errors.push(...found.errors);
    notes += found.notes.join('');
    warnings.set(path, found.warnings);
    if (!processed.includes(path)) processed.push(path);
  };
  for (const name of filenames) {
    if (name === '-') {
      processFile(name);
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(name).isDirectory();
    } catch (e) {
      errors.push(`cannot stat file ${JSON.stringify(name)}: ${osError('stat', name, e as NodeJS.ErrnoException)}`);
      continue;
    }
    if (!isDir) processFile(name);
    else for (const f of walk(name)) processFile(f);
  }
  let output = notes;
  if (errors.length) {
    // Warnings are shown with the errors.
    for (const f of processed) {
      const w = warnings.get(f) ?? [];
      if (!w.length) continue;
      if (f === '-') {
        output += warningList(w);
        break;
      }
      output += `${JSON.stringify(f)} has warnings: ${warningList(w)}\n`;
    }
    return { output: `${output}Error: ${errorList(errors)}\n`, code: 1 };
  }
  for (const f of processed) {
    const w = warnings.get(f) ?? [];
    if (f === '-') {
      output += w.length ? warningList(w) : 'validation succeed\n';
      break;
    }
    output += w.length ? `${JSON.stringify(f)} has warnings: ${warningList(w)}\n` : `${JSON.stringify(f)} is valid\n`;
  }
  return { output, code: 0 };
}

export function validateCommand(): Command {
  return new Command('validate')
    .alias('v')
    .usage('-f FILENAME [options]')
    .description('Validate Istio policy and rules files')
    .option('-f, --filename <file...>', 'Inputs of files to validate (files, directories, or "-" for stdin; repeatable or comma-separated)')
    .option('-n, --namespace <ns>', 'Namespace of resources without one (default "default")', '')
    .option('-i, --istioNamespace <ns>', 'Istio system namespace', 'istio-system')
    .addOption(new Option('-x, --referential [bool]', 'Enable structural validation for policy and telemetry').hideHelp())
    .action((o: { filename?: string[]; namespace: string; istioNamespace: string }) => {
      const files = (o.filename ?? []).flatMap((f) => f.split(',')).filter((f) => f !== '');
      const { output, code } = runValidate(files, { defaultNamespace: o.namespace, istioNamespace: o.istioNamespace });
      process.stderr.write(output);
      process.exitCode = code;
    });
}
