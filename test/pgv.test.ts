import assert from 'node:assert/strict';
import {
  create, createFileRegistry, createRegistry, getOption, setExtension, toBinary, type DescFile, type DescMessage, type MessageInitShape,
} from '@bufbuild/protobuf';
import {
  AnySchema, DescriptorProtoSchema, FieldDescriptorProtoSchema, FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as T, FieldOptionsSchema, FileDescriptorProtoSchema, MessageOptionsSchema, OneofOptionsSchema, anyPack,
  file_google_protobuf_any, file_google_protobuf_duration, file_google_protobuf_timestamp,
  file_google_protobuf_wrappers, type Any, type DescriptorProto, type FieldDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import {
  FieldRulesSchema, KnownRegex, disabled, file_validate_validate, ignored, required, rules,
} from '../gen/validate/validate_pb.js';
import { ClusterSchema, Cluster_DiscoveryType } from '../gen/envoy/config/cluster/v3/cluster_pb.js';
import { OutlierDetectionSchema } from '../gen/envoy/config/cluster/v3/outlier_detection_pb.js';
import { ListenerSchema } from '../gen/envoy/config/listener/v3/listener_pb.js';
import { FilterChainMatchSchema } from '../gen/envoy/config/listener/v3/listener_components_pb.js';
import { RouteConfigurationSchema } from '../gen/envoy/config/route/v3/route_pb.js';
import { DirectResponseActionSchema, RouteMatchSchema, RouteSchema } from '../gen/envoy/config/route/v3/route_components_pb.js';
import { HeaderValueOptionSchema, HeaderValueSchema, MetadataSchema, RequestMethod } from '../gen/envoy/config/core/v3/base_pb.js';
import { HealthStatus } from '../gen/envoy/config/core/v3/health_check_pb.js';
import { HealthCheck_HttpHealthCheckSchema, HealthStatusSetSchema } from '../gen/envoy/config/core/v3/health_check_pb.js';
import { HttpUriSchema } from '../gen/envoy/config/core/v3/http_uri_pb.js';
import { SocketAddressSchema } from '../gen/envoy/config/core/v3/address_pb.js';
import { TypedExtensionConfigSchema } from '../gen/envoy/config/core/v3/extension_pb.js';
import { ExtensionConfigSourceSchema } from '../gen/envoy/config/core/v3/config_source_pb.js';
import {
  Http2ProtocolOptions_SettingsParameterSchema, QuicProtocolOptionsSchema, SchemeHeaderTransformationSchema,
} from '../gen/envoy/config/core/v3/protocol_pb.js';
import { LocalityLbEndpointsSchema } from '../gen/envoy/config/endpoint/v3/endpoint_components_pb.js';
import { ClusterLoadAssignmentSchema } from '../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { PermissionSchema } from '../gen/envoy/config/rbac/v3/rbac_pb.js';
import { HistogramBucketSettingsSchema } from '../gen/envoy/config/metrics/v3/stats_pb.js';
import { ResponseFlagFilterSchema } from '../gen/envoy/config/accesslog/v3/accesslog_pb.js';
import { PercentSchema } from '../gen/envoy/type/v3/percent_pb.js';
import { RingHashSchema } from '../gen/envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash_pb.js';
import { HttpProtocolOptionsSchema } from '../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js';
import { HttpConnectionManagerSchema } from '../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { RouterSchema } from '../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import {
  PgvValidationError, assertValid, envoyRegistry, re2ToRegExp, validateMessage, type PgvViolation,
} from '../pilot/xds/pgv.js';

/** "path rule" of each violation, for compact assertions. */
const found = (vs: PgvViolation[]): string[] => vs.map((v) => `${v.path} ${v.rule}${v.forKey ? ' (key)' : ''}`);
const check = <D extends DescMessage>(schema: D, init: MessageInitShape<D>): string[] =>
  found(validateMessage(schema, create(schema, init)));

const ads = { configSourceSpecifier: { case: 'ads' as const, value: {} } };

const validCluster = () => ({
  name: 'outbound|80||reviews.default.svc.cluster.local',
  clusterDiscoveryType: { case: 'type' as const, value: Cluster_DiscoveryType.EDS },
  edsClusterConfig: { edsConfig: ads },
  connectTimeout: { seconds: 10n } as { seconds?: bigint; nanos?: number } | undefined,
});

function hcm(init: MessageInitShape<typeof HttpConnectionManagerSchema> = {}) {
  return create(HttpConnectionManagerSchema, {
    statPrefix: 'inbound_0.0.0.0_8080',
    routeSpecifier: { case: 'rds', value: { configSource: ads, routeConfigName: '8080' } },
    httpFilters: [{ name: 'envoy.filters.http.router', configType: { case: 'typedConfig', value: anyPack(RouterSchema, create(RouterSchema)) } }],
    ...init,
  });
}

function listenerWith(config: Any) {
  return create(ListenerSchema, {
    name: '0.0.0.0_8080',
    address: { address: { case: 'socketAddress', value: { address: '0.0.0.0', portSpecifier: { case: 'portValue', value: 8080 } } } },
    filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', configType: { case: 'typedConfig', value: config } }] }],
  });
}

describe('pgv: Envoy resources', () => {
  it('reads PGV options from the generated descriptors', () => {
    const r = getOption(ClusterSchema.field.name!, rules);
    assert.equal(r.type.case, 'string');
    assert.equal(r.type.value.minLen, 1n);
    assert.deepEqual(check(ClusterSchema, validCluster()), []);
  });

  it('Cluster with an empty name violates string.min_len', () => {
    const vs = validateMessage(ClusterSchema, create(ClusterSchema, { ...validCluster(), name: '' }));
    assert.deepEqual(vs, [{ path: 'name', rule: 'string.min_len', message: 'value length must be at least 1 runes' }]);
  });

  it('enum.defined_only on Cluster.type', () => {
    assert.deepEqual(check(ClusterSchema, { ...validCluster(), clusterDiscoveryType: { case: 'type', value: 42 as Cluster_DiscoveryType } }),
      ['type enum.defined_only']);
  });

  it('duration gt 0s on Cluster.connect_timeout (zero and negative fail, unset passes)', () => {
    assert.deepEqual(check(ClusterSchema, { ...validCluster(), connectTimeout: { seconds: 0n } }), ['connect_timeout duration.gt']);
    assert.deepEqual(check(ClusterSchema, { ...validCluster(), connectTimeout: { seconds: -1n } }), ['connect_timeout duration.gt']);
    assert.deepEqual(check(ClusterSchema, { ...validCluster(), connectTimeout: { nanos: 1 } }), []);
    assert.deepEqual(check(ClusterSchema, { ...validCluster(), connectTimeout: undefined }), []);
  });

  it('duration required / lt / validity on HttpUri.timeout', () => {
    const base = { uri: 'https://jwks.example.com/keys', httpUpstreamType: { case: 'cluster' as const, value: 'jwks' } };
    assert.deepEqual(check(HttpUriSchema, base), ['timeout duration.required']);
    assert.deepEqual(check(HttpUriSchema, { ...base, timeout: { seconds: 4294967296n } }), ['timeout duration.lt']);
    assert.deepEqual(check(HttpUriSchema, { ...base, timeout: { seconds: 4294967295n, nanos: 999_999_999 } }), []);
    assert.deepEqual(check(HttpUriSchema, { ...base, timeout: { seconds: 1n, nanos: -5 } }), ['timeout duration.valid']);
    assert.deepEqual(check(HttpUriSchema, { ...base, timeout: { seconds: 1n } }), []);
  });

  it('RouteConfiguration: empty domains, route without action, match without path specifier', () => {
    const vs = check(RouteConfigurationSchema, {
      name: '8080',
      virtualHosts: [{
        name: 'reviews',
        domains: [],
        routes: [
          { match: { pathSpecifier: { case: 'prefix', value: '/' } }, action: { case: 'route', value: { clusterSpecifier: { case: 'cluster', value: 'c' } } } },
          { match: { pathSpecifier: { case: 'prefix', value: '/' } } },
          { match: {}, action: { case: 'route', value: { clusterSpecifier: { case: 'cluster', value: 'c' } } } },
        ],
      }],
    });
    assert.deepEqual(vs, [
      'virtual_hosts[0].domains repeated.min_items',
      'virtual_hosts[0].routes[1].action oneof.required',
      'virtual_hosts[0].routes[2].match.path_specifier oneof.required',
    ]);
  });

  it('oneof member rules apply only to the selected member (RouteMatch.path_separated_prefix pattern)', () => {
    assert.deepEqual(check(RouteMatchSchema, { pathSpecifier: { case: 'pathSeparatedPrefix', value: '/api/' } }),
      ['path_separated_prefix string.pattern']);
    assert.deepEqual(check(RouteMatchSchema, { pathSpecifier: { case: 'pathSeparatedPrefix', value: '/api' } }), []);
    // A prefix of "/api/" is fine: the pattern belongs to the other member.
    assert.deepEqual(check(RouteMatchSchema, { pathSpecifier: { case: 'prefix', value: '/api/' } }), []);
  });

  it('message.required (HCM rds.config_source) and nested recursion', () => {
    const vs = validateMessage(HttpConnectionManagerSchema,
      hcm({ routeSpecifier: { case: 'rds', value: { routeConfigName: 'r' } } }));
    assert.deepEqual(found(vs), ['rds.config_source message.required']);
  });

  it('recurses into HttpConnectionManager packed in Any inside a Listener', () => {
    assert.deepEqual(found(validateMessage(ListenerSchema, listenerWith(anyPack(HttpConnectionManagerSchema, hcm())))), []);
    const bad = hcm({
      statPrefix: '',
      routeSpecifier: { case: 'routeConfig', value: { name: 'inline', virtualHosts: [{ name: '', domains: ['*'] }] } },
    });
    assert.deepEqual(found(validateMessage(ListenerSchema, listenerWith(anyPack(HttpConnectionManagerSchema, bad)))), [
      'filter_chains[0].filters[0].typed_config.stat_prefix string.min_len',
      'filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].name string.min_len',
    ]);
  });

  it('an Any with a type URL missing from the registry is a violation', () => {
    const unknown = create(AnySchema, { typeUrl: 'type.googleapis.com/example.Unknown', value: new Uint8Array([8, 1]) });
    const vs = validateMessage(ListenerSchema, listenerWith(unknown));
    assert.deepEqual(found(vs), ['filter_chains[0].filters[0].typed_config any.unknown_type']);
    assert.match(vs[0]!.message, /example\.Unknown/);
    // With a registry lacking HCM, a packed HCM is unknown too.
    const small = createRegistry(file_google_protobuf_any);
    assert.deepEqual(found(validateMessage(ListenerSchema, listenerWith(anyPack(HttpConnectionManagerSchema, hcm())), small)),
      ['filter_chains[0].filters[0].typed_config any.unknown_type']);
  });

  it('an Any whose bytes do not decode is a violation', () => {
    const broken = create(AnySchema, { typeUrl: `type.googleapis.com/${HttpConnectionManagerSchema.typeName}`, value: new Uint8Array([0x0a, 0x05, 0x61]) });
    assert.deepEqual(found(validateMessage(ListenerSchema, listenerWith(broken))), ['filter_chains[0].filters[0].typed_config any.malformed']);
  });

  it('validates a top-level Any by unpacking it', () => {
    const any = anyPack(ClusterSchema, create(ClusterSchema, { ...validCluster(), name: '' }));
    assert.deepEqual(found(validateMessage(AnySchema, any)), ['name string.min_len']);
  });

  it('any.required, also on a non-Any message field (ExtensionConfigSource.config_source)', () => {
    assert.deepEqual(check(TypedExtensionConfigSchema, { name: 'x' }), ['typed_config any.required']);
    assert.deepEqual(check(TypedExtensionConfigSchema, { name: 'x', typedConfig: anyPack(RouterSchema, create(RouterSchema)) }), []);
    assert.deepEqual(check(ExtensionConfigSourceSchema, { typeUrls: ['t'] }), ['config_source any.required']);
    // PGV renders the `any` template for it, so the ConfigSource itself is not recursed into.
    assert.deepEqual(check(ExtensionConfigSourceSchema, { typeUrls: ['t'], configSource: { configSourceSpecifier: { case: 'path', value: '' } } }), []);
  });

  it('well_known_regex HTTP_HEADER_NAME, non-strict (HeaderValue.key) and strict (override_auto_sni_header)', () => {
    assert.deepEqual(check(HeaderValueSchema, { key: 'x-ok', value: 'v' }), []);
    assert.deepEqual(check(HeaderValueSchema, { key: 'bad name', value: 'v' }), []); // strict: false
    assert.deepEqual(check(HeaderValueSchema, { key: 'bad\nname', value: 'v' }), ['key string.well_known_regex']);
    assert.deepEqual(check(HeaderValueSchema, { key: 'k', value: 'a\rb' }), ['value string.well_known_regex']);
    assert.deepEqual(check(HeaderValueSchema, { key: 'k'.repeat(16385) }), ['key string.max_bytes']);
    assert.deepEqual(check(HeaderValueSchema, { key: 'k', rawValue: new Uint8Array(16385) }), ['raw_value bytes.max_len']);

    const cluster = (sni: string) => ({
      ...validCluster(),
      typedExtensionProtocolOptions: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': anyPack(HttpProtocolOptionsSchema, create(HttpProtocolOptionsSchema, {
          upstreamHttpProtocolOptions: { autoSni: true, overrideAutoSniHeader: sni },
          upstreamProtocolOptions: { case: 'useDownstreamProtocolConfig', value: {} },
        })),
      },
    });
    assert.deepEqual(check(ClusterSchema, cluster(':authority')), []);
    assert.deepEqual(check(ClusterSchema, cluster('')), []); // ignore_empty
    const vs = validateMessage(ClusterSchema, create(ClusterSchema, cluster('bad name')));
    assert.deepEqual(found(vs), [
      'typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].upstream_http_protocol_options.override_auto_sni_header string.well_known_regex',
    ]);
  });

  it('well_known_regex HTTP_HEADER_VALUE strict (HttpHealthCheck.host)', () => {
    assert.deepEqual(check(HealthCheck_HttpHealthCheckSchema, { path: '/healthz', host: 'a\tb' }), []);
    assert.deepEqual(check(HealthCheck_HttpHealthCheckSchema, { path: '/healthz', host: 'a\u0001b' }), ['host string.well_known_regex']);
    assert.deepEqual(check(HealthCheck_HttpHealthCheckSchema, { path: '/healthz', method: RequestMethod.CONNECT }), ['method enum.not_in']);
  });

  it('UInt32Value wrappers carry uint32 rules and are checked only when set', () => {
    assert.deepEqual(check(OutlierDetectionSchema, {}), []);
    assert.deepEqual(check(OutlierDetectionSchema, { maxEjectionPercent: 100 }), []);
    assert.deepEqual(check(OutlierDetectionSchema, { maxEjectionPercent: 101 }), ['max_ejection_percent uint32.lte']);
    assert.deepEqual(check(LocalityLbEndpointsSchema, { loadBalancingWeight: 0 }), ['load_balancing_weight uint32.gte']);
    assert.deepEqual(check(LocalityLbEndpointsSchema, { loadBalancingWeight: 1, priority: 129 }), ['priority uint32.lte']);
    const vs = validateMessage(QuicProtocolOptionsSchema, create(QuicProtocolOptionsSchema, { initialStreamWindowSize: 16777217 }));
    assert.deepEqual(vs, [{ path: 'initial_stream_window_size', rule: 'uint32.lte', message: 'value must be inside range [1, 16777216]' }]);
  });

  it('wrapper with message.required (Http2 SettingsParameter.identifier)', () => {
    assert.deepEqual(check(Http2ProtocolOptions_SettingsParameterSchema, { value: 1 }), ['identifier message.required']);
    assert.deepEqual(check(Http2ProtocolOptions_SettingsParameterSchema, { identifier: 0, value: 1 }), []);
  });

  it('uint64 wrappers (RingHash.minimum_ring_size)', () => {
    assert.deepEqual(check(RingHashSchema, { minimumRingSize: 0n }), ['minimum_ring_size uint64.gte']);
    assert.deepEqual(check(RingHashSchema, { minimumRingSize: 8388609n }), ['minimum_ring_size uint64.lte']);
    assert.deepEqual(check(RingHashSchema, { minimumRingSize: 1024n }), []);
  });

  it('rules on implicit-presence scalars apply to the zero value', () => {
    assert.deepEqual(check(DirectResponseActionSchema, {}), ['status uint32.gte']);
    assert.deepEqual(check(DirectResponseActionSchema, { status: 600 }), ['status uint32.lt']);
    assert.deepEqual(check(DirectResponseActionSchema, { status: 503 }), []);
    assert.deepEqual(check(SocketAddressSchema, { address: '1.2.3.4', portSpecifier: { case: 'portValue', value: 65536 } }), ['port_value uint32.lte']);
  });

  it('double rules (Percent.value) and repeated unique/items (HistogramBucketSettings)', () => {
    assert.deepEqual(check(PercentSchema, { value: 100.5 }), ['value double.lte']);
    assert.deepEqual(check(PercentSchema, { value: -0.1 }), ['value double.gte']);
    assert.deepEqual(check(HistogramBucketSettingsSchema, { match: { matchPattern: { case: 'exact', value: 'x' } }, buckets: [] }), ['buckets repeated.min_items']);
    assert.deepEqual(check(HistogramBucketSettingsSchema, { match: { matchPattern: { case: 'exact', value: 'x' } }, buckets: [1, 0, 2, 1] }),
      ['buckets[1] double.gt', 'buckets[3] repeated.unique']);
  });

  it('bool.const inside a required oneof (rbac Permission.any)', () => {
    assert.deepEqual(check(PermissionSchema, { rule: { case: 'any', value: true } }), []);
    assert.deepEqual(check(PermissionSchema, { rule: { case: 'any', value: false } }), ['any bool.const']);
    assert.deepEqual(check(PermissionSchema, {}), ['rule oneof.required']);
  });

  it('repeated items: enum defined_only, string in, uint32 range; repeated.max_items', () => {
    assert.deepEqual(check(HealthStatusSetSchema, { statuses: [1, 99 as HealthStatus] }), ['statuses[1] enum.defined_only']);
    assert.deepEqual(check(ResponseFlagFilterSchema, { flags: ['UH', 'XX'] }), ['flags[1] string.in']);
    assert.deepEqual(check(FilterChainMatchSchema, { sourcePorts: [80, 0, 70000] }), ['source_ports[1] uint32.gte', 'source_ports[2] uint32.lte']);
    const headers = Array.from({ length: 1001 }, () => create(HeaderValueOptionSchema, { header: { key: 'x-a', value: 'b' } }));
    assert.deepEqual(check(RouteSchema, {
      match: { pathSpecifier: { case: 'prefix', value: '/' } },
      action: { case: 'route', value: { clusterSpecifier: { case: 'cluster', value: 'c' } } },
      requestHeadersToAdd: headers,
    }), ['request_headers_to_add repeated.max_items']);
  });

  it('string.in on a oneof member (SchemeHeaderTransformation)', () => {
    assert.deepEqual(check(SchemeHeaderTransformationSchema, { transformation: { case: 'schemeToOverwrite', value: 'ftp' } }),
      ['scheme_to_overwrite string.in']);
    assert.deepEqual(check(SchemeHeaderTransformationSchema, { transformation: { case: 'schemeToOverwrite', value: 'https' } }), []);
  });

  it('map keys rules and Any map values (Metadata)', () => {
    const vs = validateMessage(MetadataSchema, create(MetadataSchema, {
      filterMetadata: { '': { a: 1 }, 'istio': { b: 2 } },
      typedFilterMetadata: { 'x': create(AnySchema, { typeUrl: 'type.googleapis.com/nope.Nope' }) },
    }));
    assert.deepEqual(found(vs), ['filter_metadata[""] string.min_len (key)', 'typed_filter_metadata["x"] any.unknown_type']);
  });

  it('recurses into repeated messages without rules (ClusterLoadAssignment endpoints)', () => {
    assert.deepEqual(check(ClusterLoadAssignmentSchema, {
      clusterName: 'c',
      endpoints: [{ loadBalancingWeight: 1 }, { loadBalancingWeight: 0 }],
    }), ['endpoints[1].load_balancing_weight uint32.gte']);
  });

  it('assertValid throws a PgvValidationError listing the violations', () => {
    assert.doesNotThrow(() => assertValid(ClusterSchema, create(ClusterSchema, validCluster())));
    assert.throws(() => assertValid(ClusterSchema, create(ClusterSchema, { ...validCluster(), name: '', connectTimeout: { seconds: 0n } })),
      (e: unknown) => {
        assert.ok(e instanceof PgvValidationError);
        assert.equal(e.violations.length, 2);
        assert.match(e.message, /envoy\.config\.cluster\.v3\.Cluster/);
        assert.match(e.message, /name: value length must be at least 1 runes \[string\.min_len\]/);
        assert.match(e.message, /connect_timeout: .*\[duration\.gt\]/);
        return true;
      });
  });

  it('envoyRegistry holds every generated type and the well-known types', () => {
    const reg = envoyRegistry();
    for (const t of [HttpConnectionManagerSchema.typeName, ClusterSchema.typeName, 'google.protobuf.Struct', 'google.protobuf.Duration', 'validate.FieldRules']) {
      assert.ok(reg.getMessage(t), t);
    }
    assert.equal(envoyRegistry(), reg);
  });
});

// ---------------------------------------------------------------------------------------------
// Rule families that Envoy's protos do not use, on descriptors built here with validate.rules
// options (read back through the same getOption path).
// ---------------------------------------------------------------------------------------------

type RulesInit = MessageInitShape<typeof FieldRulesSchema>;
interface FieldSpec {
  name: string;
  type: T;
  rules?: RulesInit;
  typeName?: string;
  repeated?: boolean;
  oneof?: number;
  optional?: boolean;
  map?: { key: T; value: T; valueTypeName?: string };
}

const DEPS: Record<string, DescFile> = {
  'validate/validate.proto': file_validate_validate,
  'google/protobuf/any.proto': file_google_protobuf_any,
  'google/protobuf/duration.proto': file_google_protobuf_duration,
  'google/protobuf/timestamp.proto': file_google_protobuf_timestamp,
  'google/protobuf/wrappers.proto': file_google_protobuf_wrappers,
};
let fileCount = 0;

function fieldProto(f: FieldSpec, number: number, nested: DescriptorProto[]): FieldDescriptorProto {
  const options = create(FieldOptionsSchema);
  if (f.rules) setExtension(options, rules, create(FieldRulesSchema, f.rules));
  let type = f.type;
  let typeName = f.typeName;
  if (f.map) {
    const entry = `${f.name[0]!.toUpperCase()}${f.name.slice(1)}Entry`;
    nested.push(create(DescriptorProtoSchema, {
      name: entry,
      field: [
        { name: 'key', number: 1, type: f.map.key, label: Label.OPTIONAL, jsonName: 'key' },
        { name: 'value', number: 2, type: f.map.value, typeName: f.map.valueTypeName, label: Label.OPTIONAL, jsonName: 'value' },
      ],
      options: { mapEntry: true },
    }));
    type = T.MESSAGE;
    typeName = `.pgvtest.M.${entry}`;
  }
  return create(FieldDescriptorProtoSchema, {
    name: f.name,
    number,
    type,
    typeName: typeName ?? '',
    label: f.repeated || f.map ? Label.REPEATED : Label.OPTIONAL,
    options,
    ...(f.oneof !== undefined ? { oneofIndex: f.oneof } : {}),
    ...(f.optional ? { proto3Optional: true } : {}),
  });
}

/**
 * Builds message pgvtest.M with the given fields (numbered from 1), next to pgvtest.Inner
 * (string s, min_len 1), pgvtest.Off (disabled), pgvtest.Ign (ignored) and enum pgvtest.E.
 */
function build(fields: FieldSpec[], opts: { oneofs?: { name: string; required?: boolean }[] } = {}): DescMessage {
  const nested: DescriptorProto[] = [];
  const field = fields.map((f, i) => fieldProto(f, i + 1, nested));
  const oneofDecl = (opts.oneofs ?? []).map((o) => {
    const options = create(OneofOptionsSchema);
    if (o.required) setExtension(options, required, true);
    return { name: o.name, options };
  });
  const inner = (name: string, ext?: typeof disabled) => {
    const options = create(MessageOptionsSchema);
    if (ext) setExtension(options, ext, true);
    return create(DescriptorProtoSchema, {
      name,
      options,
      field: [fieldProto({ name: 's', type: T.STRING, rules: { type: { case: 'string', value: { minLen: 1n } } } }, 1, [])],
    });
  };
  const file = create(FileDescriptorProtoSchema, {
    name: `pgvtest/t${++fileCount}.proto`,
    package: 'pgvtest',
    syntax: 'proto3',
    dependency: Object.keys(DEPS),
    enumType: [{ name: 'E', value: [{ name: 'ZERO', number: 0 }, { name: 'ONE', number: 1 }, { name: 'TWO', number: 2 }] }],
    messageType: [
      create(DescriptorProtoSchema, { name: 'M', field, nestedType: nested, oneofDecl }),
      inner('Inner'), inner('Off', disabled), inner('Ign', ignored),
    ],
  });
  const reg = createFileRegistry(file, (name) => DEPS[name]);
  return reg.getMessage('pgvtest.M')!;
}

const str = (value: Record<string, unknown>): RulesInit => ({ type: { case: 'string', value } }) as RulesInit;
const rulesOf = (kind: string, value: Record<string, unknown>): RulesInit => ({ type: { case: kind, value } }) as RulesInit;

/** Validates a pgvtest.M built with a single field `v` holding `value`. */
function one(spec: Omit<FieldSpec, 'name'>, value: unknown, options?: Parameters<typeof validateMessage>[3]): string[] {
  const schema = build([{ name: 'v', ...spec }]);
  const msg = create(schema, value === undefined ? {} : { v: value });
  return found(validateMessage(schema, msg, undefined, options)).map((s) => s.replace(/^v(\S*) /, '$1 '));
}

describe('pgv: string rules', () => {
  it('const, len, min_len/max_len (runes), len_bytes/min_bytes/max_bytes', () => {
    assert.deepEqual(one({ type: T.STRING, rules: str({ const: 'abc' }) }, 'abd'), [' string.const']);
    assert.deepEqual(one({ type: T.STRING, rules: str({ const: 'abc' }) }, 'abc'), []);
    assert.deepEqual(one({ type: T.STRING, rules: str({ len: 2n }) }, 'é€'), []); // 2 runes, 5 bytes
    assert.deepEqual(one({ type: T.STRING, rules: str({ len: 2n }) }, 'abc'), [' string.len']);
    assert.deepEqual(one({ type: T.STRING, rules: str({ minLen: 2n, maxLen: 3n }) }, '😀😀'), []);
    assert.deepEqual(one({ type: T.STRING, rules: str({ minLen: 2n, maxLen: 3n }) }, 'abcd'), [' string.max_len']);
    assert.deepEqual(one({ type: T.STRING, rules: str({ lenBytes: 4n }) }, '😀'), []);
    assert.deepEqual(one({ type: T.STRING, rules: str({ minBytes: 3n }) }, 'é'), [' string.min_bytes']);
    assert.deepEqual(one({ type: T.STRING, rules: str({ maxBytes: 3n }) }, 'ab€'), [' string.max_bytes']);
    // Implicit presence: an unset string is "" and still checked.
    assert.deepEqual(one({ type: T.STRING, rules: str({ minLen: 1n }) }, undefined), [' string.min_len']);
  });

  it('prefix, suffix, contains, not_contains, in, not_in', () => {
    assert.deepEqual(one({ type: T.STRING, rules: str({ prefix: 'foo', suffix: 'bar', contains: 'zz', notContains: 'q' }) }, 'foozzbar'), []);
    assert.deepEqual(one({ type: T.STRING, rules: str({ prefix: 'foo', suffix: 'bar', contains: 'zz', notContains: 'q' }) }, 'xqx'),
      [' string.prefix', ' string.suffix', ' string.contains', ' string.not_contains']);
    assert.deepEqual(one({ type: T.STRING, rules: str({ in: ['a', 'b'] }) }, 'c'), [' string.in']);
    assert.deepEqual(one({ type: T.STRING, rules: str({ notIn: ['a', 'b'] }) }, 'b'), [' string.not_in']);
    assert.deepEqual(one({ type: T.STRING, rules: str({ notIn: ['a', 'b'] }) }, 'c'), []);
  });

  it('ignore_empty skips every rule for ""', () => {
    assert.deepEqual(one({ type: T.STRING, rules: str({ ignoreEmpty: true, minLen: 3n, prefix: 'x' }) }, ''), []);
    assert.deepEqual(one({ type: T.STRING, rules: str({ ignoreEmpty: true, minLen: 3n }) }, 'ab'), [' string.min_len']);
  });

  it('pattern (RE2, unanchored search)', () => {
    assert.deepEqual(one({ type: T.STRING, rules: str({ pattern: '(?i)^[0-9a-f]+$' }) }, 'DeadBeef'), []);
    assert.deepEqual(one({ type: T.STRING, rules: str({ pattern: '(?i)^[0-9a-f]+$' }) }, 'xyz'), [' string.pattern']);
    assert.deepEqual(one({ type: T.STRING, rules: str({ pattern: 'b+' }) }, 'abba'), []);
    // RE2's `.` only excludes "\n"; `$` does not match before a final "\n".
    assert.deepEqual(one({ type: T.STRING, rules: str({ pattern: '^a.b$' }) }, 'a\rb'), []);
    assert.deepEqual(one({ type: T.STRING, rules: str({ pattern: '^ab$' }) }, 'ab\n'), [' string.pattern']);
    // A pattern RE2 would reject (lookahead) is reported, not thrown.
    const schema = build([{ name: 'v', type: T.STRING, rules: str({ pattern: 'a(?=b)' }) }]);
    const vs = validateMessage(schema, create(schema));
    assert.equal(vs[0]?.rule, 'string.pattern');
    assert.match(vs[0]!.message, /cannot evaluate/);
  });

  it('well-known formats: email, hostname, ip, ipv4, ipv6, address, uri, uri_ref, uuid', () => {
    const wk = (kase: string, value: string) => one({ type: T.STRING, rules: str({ wellKnown: { case: kase, value: true } }) }, value);
    assert.deepEqual(wk('email', 'john.doe@example.com'), []);
    assert.deepEqual(wk('email', 'John Doe <john@example.com>'), []);
    assert.deepEqual(wk('email', 'john@-example.com'), [' string.email']);
    assert.deepEqual(wk('email', 'no-at-sign'), [' string.email']);
    assert.deepEqual(wk('email', `${'a'.repeat(65)}@example.com`), [' string.email']);
    assert.deepEqual(wk('hostname', 'reviews.default.svc.cluster.local.'), []);
    assert.deepEqual(wk('hostname', 'Example.COM'), []);
    for (const bad of ['', 'a..b', '-a.com', 'a-.com', 'under_score.com', `${'a'.repeat(64)}.com`, 'é.com']) {
      assert.deepEqual(wk('hostname', bad), [' string.hostname'], bad);
    }
    assert.deepEqual(wk('ip', '10.0.0.1'), []);
    assert.deepEqual(wk('ip', '::1'), []);
    assert.deepEqual(wk('ip', '10.0.0.01'), [' string.ip']); // leading zero, as Go rejects
    assert.deepEqual(wk('ip', 'fe80::1%eth0'), [' string.ip']); // zones are rejected
    assert.deepEqual(wk('ipv4', '192.168.0.1'), []);
    assert.deepEqual(wk('ipv4', '256.0.0.1'), [' string.ipv4']);
    assert.deepEqual(wk('ipv4', 'fe80::3'), [' string.ipv4']);
    assert.deepEqual(wk('ipv6', 'fe80::3'), []);
    assert.deepEqual(wk('ipv6', '2001:db8:0:0:0:0:2:1'), []);
    assert.deepEqual(wk('ipv6', '::ffff:1.2.3.4'), [' string.ipv6']); // IPv4-mapped counts as IPv4 in Go
    assert.deepEqual(wk('ipv6', '1:2:3:4:5:6:7:8:9'), [' string.ipv6']);
    assert.deepEqual(wk('ipv6', '1::2::3'), [' string.ipv6']);
    assert.deepEqual(wk('address', 'example.com'), []);
    assert.deepEqual(wk('address', '2001:db8::1'), []);
    assert.deepEqual(wk('address', 'not an address'), [' string.address']);
    assert.deepEqual(wk('uri', 'https://user@example.com:8443/a/b?c=d#e'), []);
    assert.deepEqual(wk('uri', 'mailto:someone@example.com'), []);
    assert.deepEqual(wk('uri', '/relative/path'), [' string.uri']);
    assert.deepEqual(wk('uri', 'http://exa mple.com/'), [' string.uri']);
    assert.deepEqual(wk('uri', 'http://example.com:port/'), [' string.uri']);
    assert.deepEqual(wk('uri', 'http://example.com/%zz'), [' string.uri']);
    assert.deepEqual(wk('uri', '://missing-scheme'), [' string.uri']);
    assert.deepEqual(wk('uriRef', '/relative/path?x=1'), []);
    assert.deepEqual(wk('uriRef', 'a:b/c'), []); // a scheme "a"
    assert.deepEqual(wk('uriRef', '1a:b'), [' string.uri_ref']); // first path segment with a colon
    assert.deepEqual(wk('uriRef', 'bad\u0001char'), [' string.uri_ref']);
    assert.deepEqual(wk('uuid', '123e4567-e89b-12d3-a456-426614174000'), []);
    assert.deepEqual(wk('uuid', '123e4567e89b12d3a456426614174000'), [' string.uuid']);
  });

  it('well_known_regex: strict by default, header-name comma quirk kept', () => {
    const wkr = (value: KnownRegex, v: string, strict?: boolean) =>
      one({ type: T.STRING, rules: str({ wellKnown: { case: 'wellKnownRegex', value }, ...(strict === undefined ? {} : { strict }) }) }, v);
    assert.deepEqual(wkr(KnownRegex.HTTP_HEADER_NAME, ':path'), []);
    assert.deepEqual(wkr(KnownRegex.HTTP_HEADER_NAME, 'x,y'), []); // PGV's class has the range "+-."
    assert.deepEqual(wkr(KnownRegex.HTTP_HEADER_NAME, ''), [' string.well_known_regex']);
    assert.deepEqual(wkr(KnownRegex.HTTP_HEADER_NAME, 'a:b'), [' string.well_known_regex']);
    assert.deepEqual(wkr(KnownRegex.HTTP_HEADER_NAME, 'a:b', false), []);
    assert.deepEqual(wkr(KnownRegex.HTTP_HEADER_VALUE, 'a\u007fb'), [' string.well_known_regex']);
    assert.deepEqual(wkr(KnownRegex.HTTP_HEADER_VALUE, 'a\u007fb', false), []);
    assert.deepEqual(wkr(KnownRegex.HTTP_HEADER_VALUE, 'a\u0000b', false), [' string.well_known_regex']);
  });
});

describe('pgv: numeric, bool, bytes, enum rules', () => {
  it('const / in / not_in / ignore_empty across families', () => {
    assert.deepEqual(one({ type: T.INT32, rules: rulesOf('int32', { const: -3 }) }, -3), []);
    assert.deepEqual(one({ type: T.INT32, rules: rulesOf('int32', { const: -3 }) }, 3), [' int32.const']);
    assert.deepEqual(one({ type: T.INT64, rules: rulesOf('int64', { in: [1n, 2n] }) }, 3n), [' int64.in']);
    assert.deepEqual(one({ type: T.SINT32, rules: rulesOf('sint32', { notIn: [0] }) }, undefined), [' sint32.not_in']);
    assert.deepEqual(one({ type: T.SINT64, rules: rulesOf('sint64', { lt: -1n }) }, -1n), [' sint64.lt']);
    assert.deepEqual(one({ type: T.FIXED32, rules: rulesOf('fixed32', { gte: 30, lt: 40 }) }, 40), [' fixed32.lt']);
    assert.deepEqual(one({ type: T.FIXED64, rules: rulesOf('fixed64', { gt: 5n }) }, 5n), [' fixed64.gt']);
    assert.deepEqual(one({ type: T.SFIXED32, rules: rulesOf('sfixed32', { lte: -5 }) }, -4), [' sfixed32.lte']);
    assert.deepEqual(one({ type: T.SFIXED64, rules: rulesOf('sfixed64', { gte: -5n }) }, -6n), [' sfixed64.gte']);
    assert.deepEqual(one({ type: T.UINT32, rules: rulesOf('uint32', { ignoreEmpty: true, gte: 200 }) }, 0), []);
    assert.deepEqual(one({ type: T.UINT32, rules: rulesOf('uint32', { ignoreEmpty: true, gte: 200 }) }, 100), [' uint32.gte']);
    assert.deepEqual(one({ type: T.FLOAT, rules: rulesOf('float', { const: 1.23 }) }, Math.fround(1.23)), []);
    assert.deepEqual(one({ type: T.FLOAT, rules: rulesOf('float', { notIn: [0, Math.fround(0.99)] }) }, Math.fround(0.99)), [' float.not_in']);
    assert.deepEqual(one({ type: T.DOUBLE, rules: rulesOf('double', { gt: 0 }) }, Number.NaN), []); // NaN passes, as in Go
  });

  it('inclusive and exclusive ranges (lt < gt)', () => {
    const range = (r: Record<string, number>, v: number) => one({ type: T.DOUBLE, rules: rulesOf('double', r) }, v);
    assert.deepEqual(range({ gt: 0, lt: 10 }, 0), [' double.gt']);
    assert.deepEqual(range({ gt: 0, lt: 10 }, 10), [' double.lt']);
    assert.deepEqual(range({ gt: 0, lt: 10 }, 5), []);
    // Outside [30, 40): lt 30, gte 40.
    assert.deepEqual(range({ lt: 30, gte: 40 }, 29), []);
    assert.deepEqual(range({ lt: 30, gte: 40 }, 40), []);
    assert.deepEqual(range({ lt: 30, gte: 40 }, 30), [' double.gte_lt_exclusive']);
    assert.deepEqual(range({ lt: 30, gte: 40 }, 39.9), [' double.gte_lt_exclusive']);
    assert.deepEqual(range({ lte: 30, gt: 40 }, 30), []);
    assert.deepEqual(range({ lte: 30, gt: 40 }, 40), [' double.gt_lte_exclusive']);
    assert.deepEqual(one({ type: T.INT32, rules: rulesOf('int32', { lte: 30, gte: 40 }) }, undefined), []); // 0 is outside (30, 40)
    assert.deepEqual(one({ type: T.INT32, rules: rulesOf('int32', { lte: 30, gte: 40 }) }, 35), [' int32.gte_lte_exclusive']);
  });

  it('bool.const and bytes rules', () => {
    assert.deepEqual(one({ type: T.BOOL, rules: rulesOf('bool', { const: true }) }, undefined), [' bool.const']);
    const b = (r: Record<string, unknown>, v: number[]) => one({ type: T.BYTES, rules: rulesOf('bytes', r) }, new Uint8Array(v));
    assert.deepEqual(b({ const: new Uint8Array([1, 2]) }, [1, 2]), []);
    assert.deepEqual(b({ const: new Uint8Array([1, 2]) }, [1]), [' bytes.const']);
    assert.deepEqual(b({ len: 3n }, [1, 2]), [' bytes.len']);
    assert.deepEqual(b({ minLen: 2n, maxLen: 3n }, [1]), [' bytes.min_len']);
    assert.deepEqual(b({ prefix: new Uint8Array([0x99]), suffix: new Uint8Array([0x7a]), contains: new Uint8Array([5, 6]) }, [0x99, 5, 6, 0x7a]), []);
    assert.deepEqual(b({ prefix: new Uint8Array([0x99]), suffix: new Uint8Array([0x7a]), contains: new Uint8Array([5, 6]) }, [6, 5]),
      [' bytes.prefix', ' bytes.suffix', ' bytes.contains']);
    assert.deepEqual(b({ in: [new Uint8Array([1]), new Uint8Array([2])] }, [3]), [' bytes.in']);
    assert.deepEqual(b({ notIn: [new Uint8Array([1])] }, [1]), [' bytes.not_in']);
    assert.deepEqual(b({ wellKnown: { case: 'ip', value: true } }, [10, 0, 0, 1]), []);
    assert.deepEqual(b({ wellKnown: { case: 'ip', value: true } }, [10, 0, 0]), [' bytes.ip']);
    assert.deepEqual(b({ wellKnown: { case: 'ipv4', value: true } }, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]), []);
    assert.deepEqual(b({ wellKnown: { case: 'ipv6', value: true } }, [10, 0, 0, 1]), [' bytes.ipv6']);
    assert.deepEqual(b({ wellKnown: { case: 'ipv6', value: true } }, [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), []);
    assert.deepEqual(b({ pattern: '^[\\x00-\\x7F]+$' }, [0x41, 0x42]), []);
    assert.deepEqual(b({ pattern: '^[\\x00-\\x7F]+$' }, [0x41, 0xc3, 0xa9]), [' bytes.pattern']);
    assert.deepEqual(b({ ignoreEmpty: true, minLen: 2n }, []), []);
  });

  it('enum const, in, not_in, defined_only', () => {
    const e = (r: Record<string, unknown>, v: number | undefined) => one({ type: T.ENUM, typeName: '.pgvtest.E', rules: rulesOf('enum', r) }, v);
    assert.deepEqual(e({ const: 2 }, 1), [' enum.const']);
    assert.deepEqual(e({ in: [0, 2] }, 1), [' enum.in']);
    assert.deepEqual(e({ notIn: [1] }, 1), [' enum.not_in']);
    assert.deepEqual(e({ definedOnly: true }, 7), [' enum.defined_only']);
    assert.deepEqual(e({ definedOnly: true }, undefined), []);
  });
});

describe('pgv: messages, presence, repeated, map', () => {
  it('message.required, message.skip, recursion only when set', () => {
    const inner = { type: T.MESSAGE, typeName: '.pgvtest.Inner' };
    assert.deepEqual(one(inner, undefined), []);
    assert.deepEqual(one(inner, { s: '' }), ['.s string.min_len']);
    assert.deepEqual(one({ ...inner, rules: { message: { required: true } } }, undefined), [' message.required']);
    assert.deepEqual(one({ ...inner, rules: { message: { skip: true } } }, { s: '' }), []);
    assert.deepEqual(one({ ...inner, rules: { message: { required: true, skip: true } } }, undefined), [' message.required']);
  });

  it('(validate.disabled) and (validate.ignored) messages are not validated', () => {
    assert.deepEqual(one({ type: T.MESSAGE, typeName: '.pgvtest.Off' }, { s: '' }), []);
    assert.deepEqual(one({ type: T.MESSAGE, typeName: '.pgvtest.Ign' }, { s: '' }), []);
    // ...but a parent's rules on the field still apply.
    assert.deepEqual(one({ type: T.MESSAGE, typeName: '.pgvtest.Off', rules: { message: { required: true } } }, undefined), [' message.required']);
  });

  it('proto3 optional scalars are checked only when set; oneof members only when selected', () => {
    const schema = build([
      { name: 'opt', type: T.STRING, optional: true, oneof: 1, rules: str({ minLen: 2n }) },
      { name: 'a', type: T.STRING, oneof: 0, rules: str({ minLen: 2n }) },
      { name: 'b', type: T.UINT32, oneof: 0, rules: rulesOf('uint32', { gt: 0 }) },
    ], { oneofs: [{ name: 'choice', required: true }, { name: '_opt' }] });
    assert.deepEqual(found(validateMessage(schema, create(schema, {}))), ['choice oneof.required']);
    assert.deepEqual(found(validateMessage(schema, create(schema, { opt: '', choice: { case: 'b', value: 1 } }))), ['opt string.min_len']);
    assert.deepEqual(found(validateMessage(schema, create(schema, { choice: { case: 'b', value: 0 } }))), ['b uint32.gt']);
    assert.deepEqual(found(validateMessage(schema, create(schema, { choice: { case: 'a', value: 'xy' } }))), []);
  });

  it('StringValue / Int64Value wrappers carry the wrapped rules', () => {
    const sv = { type: T.MESSAGE, typeName: '.google.protobuf.StringValue', rules: str({ prefix: 'x' }) };
    assert.deepEqual(one(sv, undefined), []);
    assert.deepEqual(one(sv, 'yz'), [' string.prefix']);
    assert.deepEqual(one({ type: T.MESSAGE, typeName: '.google.protobuf.Int64Value', rules: rulesOf('int64', { gt: 10n }) }, 10n), [' int64.gt']);
  });

  it('repeated: ignore_empty, unique on strings and messages, items message skip', () => {
    const rep = (r: Record<string, unknown>, v: unknown, extra: Partial<FieldSpec> = {}) =>
      one({ type: T.STRING, repeated: true, rules: rulesOf('repeated', r), ...extra }, v);
    assert.deepEqual(rep({ ignoreEmpty: true, minItems: 2n }, []), []);
    assert.deepEqual(rep({ minItems: 2n }, []), [' repeated.min_items']);
    assert.deepEqual(rep({ minItems: 2n, maxItems: 2n }, ['a', 'b', 'c']), [' repeated.max_items']);
    assert.deepEqual(rep({ unique: true }, ['a', 'b', 'a']), ['[2] repeated.unique']);
    assert.deepEqual(rep({ items: { type: { case: 'string', value: { minLen: 1n } } } }, ['a', '']), ['[1] string.min_len']);
    const msgs = { type: T.MESSAGE, typeName: '.pgvtest.Inner' };
    assert.deepEqual(rep({ unique: true }, [{ s: 'a' }, { s: 'a' }], msgs), ['[1] repeated.unique']);
    assert.deepEqual(rep({ items: { message: { skip: true } } }, [{ s: '' }], msgs), []);
    assert.deepEqual(one({ ...msgs, repeated: true }, [{ s: 'x' }, { s: '' }]), ['[1].s string.min_len']);
  });

  it('map: min_pairs, max_pairs, keys, values, no_sparse, ignore_empty', () => {
    const m = (r: Record<string, unknown>, v: Record<string, unknown>, map: FieldSpec['map'] = { key: T.STRING, value: T.STRING }) =>
      one({ type: T.MESSAGE, map, rules: rulesOf('map', r) }, v);
    assert.deepEqual(m({ minPairs: 1n }, {}), [' map.min_pairs']);
    assert.deepEqual(m({ ignoreEmpty: true, minPairs: 1n }, {}), []);
    assert.deepEqual(m({ maxPairs: 1n }, { a: 'x', b: 'y' }), [' map.max_pairs']);
    assert.deepEqual(m({ keys: { type: { case: 'string', value: { prefix: 'k' } } }, values: { type: { case: 'string', value: { minLen: 2n } } } },
      { kb: 'x', ak: 'yy' }), ['["ak"] string.prefix (key)', '["kb"] string.min_len']);
    assert.deepEqual(m({ keys: { type: { case: 'sint32', value: { lt: 0 } } } }, { '-1': 'a', '2': 'b' }, { key: T.SINT32, value: T.STRING }),
      ['[2] sint32.lt (key)']);
    const inner = { key: T.STRING, value: T.MESSAGE, valueTypeName: '.pgvtest.Inner' };
    assert.deepEqual(m({}, { a: { s: '' } }, inner), ['["a"].s string.min_len']);
    assert.deepEqual(m({ values: { message: { skip: true } } }, { a: { s: '' } }, inner), []);
    const schema = build([{ name: 'v', type: T.MESSAGE, map: inner, rules: rulesOf('map', { noSparse: true }) }]);
    const sparse = create(schema, {}) as unknown as { v: Record<string, unknown> };
    sparse.v['hole'] = undefined;
    assert.deepEqual(found(validateMessage(schema, sparse as never)), ['v["hole"] map.no_sparse']);
    // Without rules, map values of a message type are still validated.
    assert.deepEqual(one({ type: T.MESSAGE, map: inner }, { z: { s: '' } }), ['["z"].s string.min_len']);
  });
});

describe('pgv: Any, Duration, Timestamp rules', () => {
  const anyOf = (typeName: string) => create(AnySchema, { typeUrl: `type.googleapis.com/${typeName}`, value: toBinary(RouterSchema, create(RouterSchema)) });

  it('any in / not_in on the type URL', () => {
    const any = { type: T.MESSAGE, typeName: '.google.protobuf.Any' };
    const url = `type.googleapis.com/${RouterSchema.typeName}`;
    assert.deepEqual(one({ ...any, rules: rulesOf('any', { in: [url] }) }, anyOf(RouterSchema.typeName)), []);
    assert.deepEqual(one({ ...any, rules: rulesOf('any', { in: ['type.googleapis.com/x.Y'] }) }, anyOf(RouterSchema.typeName)), [' any.in']);
    assert.deepEqual(one({ ...any, rules: rulesOf('any', { notIn: [url] }) }, anyOf(RouterSchema.typeName)), [' any.not_in']);
    assert.deepEqual(one({ ...any, rules: rulesOf('any', { required: true }) }, undefined), [' any.required']);
  });

  it('duration const, lte, exclusive range, in, not_in', () => {
    const dur = (r: Record<string, unknown>, v: unknown) => one({ type: T.MESSAGE, typeName: '.google.protobuf.Duration', rules: rulesOf('duration', r) }, v);
    const s = (seconds: number, nanos = 0) => ({ seconds: BigInt(seconds), nanos });
    assert.deepEqual(dur({ const: s(1, 500_000_000) }, s(1, 500_000_000)), []);
    assert.deepEqual(dur({ const: s(1, 500_000_000) }, s(1)), [' duration.const']);
    assert.deepEqual(dur({ lte: s(10) }, s(10, 1)), [' duration.lte']);
    assert.deepEqual(dur({ lt: s(0), gte: s(1) }, s(0, 5)), [' duration.gte_lt_exclusive']);
    assert.deepEqual(dur({ lt: s(0), gte: s(1) }, s(2)), []);
    assert.deepEqual(dur({ in: [s(0), s(1)] }, s(2)), [' duration.in']);
    assert.deepEqual(dur({ notIn: [s(20), s(0, 500)] }, s(0, 500)), [' duration.not_in']);
    assert.deepEqual(dur({ lte: s(10) }, undefined), []);
  });

  it('timestamp required, const, lt/gt, lt_now, gt_now, within', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    const nowS = BigInt(now.getTime() / 1000);
    const ts = (r: Record<string, unknown>, v: unknown) =>
      one({ type: T.MESSAGE, typeName: '.google.protobuf.Timestamp', rules: rulesOf('timestamp', r) }, v, { now: () => now });
    const at = (dSeconds: number) => ({ seconds: nowS + BigInt(dSeconds), nanos: 0 });
    assert.deepEqual(ts({ required: true }, undefined), [' timestamp.required']);
    assert.deepEqual(ts({ const: { seconds: 63393490800n, nanos: 500_000_000 } }, { seconds: 63393490800n, nanos: 500_000_000 }), []);
    assert.deepEqual(ts({ const: { seconds: 63393490800n } }, { seconds: 63393490801n }), [' timestamp.const']);
    assert.deepEqual(ts({ lt: { seconds: 0n } }, { seconds: 0n }), [' timestamp.lt']);
    assert.deepEqual(ts({ gte: { seconds: 100n }, lt: { seconds: 200n } }, { seconds: 99n }), [' timestamp.gte']);
    assert.deepEqual(ts({ ltNow: true }, at(-1)), []);
    assert.deepEqual(ts({ ltNow: true }, at(1)), [' timestamp.lt_now']);
    assert.deepEqual(ts({ gtNow: true }, at(-1)), [' timestamp.gt_now']);
    assert.deepEqual(ts({ gtNow: true, within: { seconds: 3600n } }, at(3600)), []);
    assert.deepEqual(ts({ gtNow: true, within: { seconds: 3600n } }, at(3601)), [' timestamp.within']);
    assert.deepEqual(ts({ ltNow: true, within: { seconds: 60n } }, at(-61)), [' timestamp.within']);
    assert.deepEqual(ts({ within: { seconds: 1n } }, at(0)), []);
    assert.deepEqual(ts({ within: { seconds: 1n } }, at(1)), [' timestamp.within']);
    assert.deepEqual(ts({ ltNow: true }, { seconds: 253402300800n }), [' timestamp.valid']);
  });
});

describe('pgv: RE2 translation', () => {
  it('translates RE2 syntax that differs from JS', () => {
    const m = (p: string, s: string) => re2ToRegExp(p).test(s);
    assert.equal(m('^\\s$', '\u00a0'), false); // RE2 \s is ASCII only
    assert.equal(m('^\\pL+$', 'héllo'), true);
    assert.equal(m('^\\p{Greek}+$', 'αβ'), true);
    assert.equal(m('^[[:alpha:]]+$', 'abZ'), true);
    assert.equal(m('^\\Qa.b\\E$', 'axb'), false);
    assert.equal(m('^\\x{263a}$', '☺'), true);
    assert.equal(m('(?P<name>a+)b', 'xaab'), true);
    assert.equal(m('\\Aab\\z', 'ab'), true);
    assert.equal(m('(?m)^b$', 'a\nb\nc'), true);
    assert.equal(m('(?s)a.b', 'a\nb'), true);
    assert.equal(m('a.b', 'a\nb'), false);
    assert.equal(m('^[]a]+$', ']a'), true);
    assert.equal(m('^a{,2}$', 'a{,2}'), true); // not a repetition in RE2
    assert.equal(m('^\\#\\:$', '#:'), true); // punctuation escapes, invalid in JS u-mode
  });

  it('rejects what RE2 rejects (and scoped case-folding, which JS cannot express)', () => {
    for (const p of ['a(?=b)', '(a)\\1', 'a{1001}', '\\C', '(', 'a)', '[a', '(?i:a)b']) {
      assert.throws(() => re2ToRegExp(p), /RE2 pattern/, p);
    }
  });
});
