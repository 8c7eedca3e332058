// Generates protobuf-es code for Envoy's xDS API and Isthmus' own protos.
//
// Envoy's .proto files are not vendored: they come from @grpc/grpc-js-xds, the only npm
// package that ships them. That snapshot has three known defects we work around here, in a
// git-ignored staging folder, so nothing under node_modules is modified:
//   1. its validate/validate.proto predates the `ignore_empty` rules (StringRules.ignore_empty is
//      used by Envoy) and the `(validate.ignored)` message option; we add them back with
//      upstream protoc-gen-validate's field numbers so pilot/xds/pgv.ts can read every rule;
//   2. it carries broken v2 files (we compile only the v3 entry points below);
//   3. a few v3 files import OpenCensus/OpenTelemetry/Prometheus protos it does not ship
//      (none of them is reachable from our entry points).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const xdsDeps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const staging = join(root, 'proto', '.staging');
const out = join(root, 'gen');

// Entry points; buf follows their imports (include_imports).
export const ENTRY_PROTOS = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/secret/v3/sds.proto',
  'envoy/service/status/v3/csds.proto',
  'envoy/admin/v3/config_dump.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy/extensions/clusters/dynamic_forward_proxy/v3/cluster.proto',
  'envoy/extensions/common/dynamic_forward_proxy/v3/dns_cache.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/rbac/v3/rbac.proto',
  'envoy/extensions/filters/network/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/path/match/uri_template/v3/uri_template_match.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/dynamic_forward_proxy/v3/dynamic_forward_proxy.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto',
  'envoy/extensions/filters/http/grpc_stats/v3/config.proto',
  'envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/network/dns_resolver/cares/v3/cares_dns_resolver.proto',
];

function stage() {
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const d of ['envoy-api', 'xds', 'googleapis']) cpSync(join(xdsDeps, d), staging, { recursive: true });
  cpSync(join(xdsDeps, 'protoc-gen-validate', 'validate'), join(staging, 'validate'), { recursive: true });
  // Isthmus' own protos (Istio wire contracts written for this project).
  const own = join(root, 'proto', 'istio');
  if (existsSync(own)) cpSync(own, join(staging, 'istio'), { recursive: true });

  const validateProto = join(staging, 'validate', 'validate.proto');
  const text = readFileSync(validateProto, 'utf8');
  const patched = patchValidateProto(text);
  if (patched !== text) writeFileSync(validateProto, patched);
  writeFileSync(join(staging, 'buf.yaml'), 'version: v2\n');
}

// Fields of upstream protoc-gen-validate's validate.proto that the npm snapshot lacks, with
// upstream's field numbers. Each is added only when its block does not declare it already.
const NUMERIC_RULES = ['Float', 'Double', 'Int32', 'Int64', 'UInt32', 'UInt64', 'SInt32', 'SInt64',
  'Fixed32', 'Fixed64', 'SFixed32', 'SFixed64'];
const VALIDATE_PROTO_ADDITIONS = [
  ...NUMERIC_RULES.map((n) => [`message ${n}Rules {`, 'ignore_empty', 'optional bool ignore_empty = 8;']),
  ['message StringRules {', 'ignore_empty', 'optional bool ignore_empty = 26;'],
  ['message BytesRules {', 'ignore_empty', 'optional bool ignore_empty = 14;'],
  ['message RepeatedRules {', 'ignore_empty', 'optional bool ignore_empty = 5;'],
  ['message MapRules {', 'ignore_empty', 'optional bool ignore_empty = 6;'],
  ['extend google.protobuf.MessageOptions {', 'ignored', 'optional bool ignored = 1072;'],
];

function patchValidateProto(text) {
  for (const [opening, name, decl] of VALIDATE_PROTO_ADDITIONS) {
    const start = text.indexOf(opening);
    if (start < 0) throw new Error(`validate.proto: cannot find "${opening}"`);
    // The block ends at the next top-level declaration (nested blocks are indented).
    const next = text.slice(start + opening.length).search(/\n(message|enum|extend) /);
    const block = next < 0 ? text.slice(start) : text.slice(start, start + opening.length + next);
    if (new RegExp(`\\b${name}\\s*=`).test(block)) continue;
    const at = start + opening.length;
    text = `${text.slice(0, at)}\n    ${decl}\n${text.slice(at)}`;
  }
  return text;
}

function ownProtos() {
  const own = join(root, 'proto', 'istio');
  if (!existsSync(own)) return [];
  const found = [];
  const walk = (dir, rel) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name), `${rel}/${entry.name}`);
      else if (entry.name.endsWith('.proto')) found.push(`${rel}/${entry.name}`);
    }
  };
  walk(own, 'istio');
  return found;
}

import { readdirSync } from 'node:fs';

function generate() {
  const bin = join(root, 'node_modules', '.bin');
  const template = {
    version: 'v2',
    plugins: [{
      local: join(bin, 'protoc-gen-es'),
      out: out,
      include_imports: true,
      strategy: 'all',
      opt: ['target=ts', 'import_extension=js'],
    }],
  };
  rmSync(out, { recursive: true, force: true });
  const args = ['generate', staging, '--template', JSON.stringify(template)];
  for (const p of [...ENTRY_PROTOS, ...ownProtos()]) args.push('--path', join(staging, p));
  execFileSync(join(bin, 'buf'), args, { stdio: 'inherit', cwd: staging });
}

// Writes gen/files.ts: every generated file descriptor, so that a registry of all generated
// types (pilot/xds/pgv.ts envoyRegistry) needs no hand-kept import list.
function writeIndex() {
  const entries = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('_pb.ts')) {
        const rel = relative(out, path).split(sep).join('/');
        for (const m of readFileSync(path, 'utf8').matchAll(/^export const (file_\w+): GenFile\b/gm)) {
          entries.push({ name: m[1], from: `./${rel.replace(/\.ts$/, '.js')}` });
        }
      }
    }
  };
  walk(out);
  entries.sort((a, b) => a.from.localeCompare(b.from) || a.name.localeCompare(b.name));
  const lines = [
    '// Generated by proto/generate.mjs: every file descriptor generated into gen/. Do not edit.',
    'import type { GenFile } from "@bufbuild/protobuf/codegenv2";',
    ...entries.map((e) => `import { ${e.name} } from "${e.from}";`),
    '',
    'export const allFiles: readonly GenFile[] = [',
    ...entries.map((e) => `  ${e.name},`),
    '];',
    '',
  ];
  writeFileSync(join(out, 'files.ts'), lines.join('\n'));
}

stage();
generate();
writeIndex();
console.log(`proto: generated ${out}`);
