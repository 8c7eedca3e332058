// Generating one xDS type for a proxy, unpacking it, and holding it to Envoy's protos (round trip,
// known Any types, validate.rules), as test/generated-resources.test.ts does for whole meshes.
import { equals, fromBinary, toBinary } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import type { Proxy } from '../../pilot/model/proxy.js';
import type { PushContext } from '../../pilot/model/push-context.js';
import type { GeneratorSet, NamedResource } from '../../pilot/networking/generator.js';
import { envoyRegistry } from '../../pilot/networking/registry.js';
import { validateMessage, formatViolations } from '../../pilot/xds/pgv.js';

/** Wildcard when `names` is absent. */
export function generate(gens: GeneratorSet, push: PushContext, proxy: Proxy, typeUrl: string, names?: string[]): NamedResource[] {
  return gens.byType[typeUrl]!(push, proxy, { typeUrl, names: names ?? [], wildcard: names === undefined });
}

export function unpack<T>(r: NamedResource): T {
  return anyUnpack(r.resource, envoyRegistry()) as unknown as T;
}

/** What is wrong with a resource by Envoy's protos; empty when nothing. */
export function resourceProblems(r: NamedResource): string[] {
  const schema = envoyRegistry().getMessage(r.resource.typeUrl.slice(r.resource.typeUrl.lastIndexOf('/') + 1));
  if (!schema) return [`${r.name}: type ${r.resource.typeUrl} is not in the registry`];
  const msg = anyUnpack(r.resource, envoyRegistry());
  if (!msg) return [`${r.name}: cannot unpack ${r.resource.typeUrl}`];
  const problems: string[] = [];
  if (!equals(schema, msg, fromBinary(schema, toBinary(schema, msg)))) problems.push(`${r.name}: does not survive an encode/decode round trip`);
  const violations = validateMessage(schema, msg);
  if (violations.length) problems.push(`${r.name}: ${formatViolations(violations)}`);
  return problems;
}
