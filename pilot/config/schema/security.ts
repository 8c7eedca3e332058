// security.istio.io schemas (v1 and v1beta1 share one shape): PeerAuthentication,
// AuthorizationPolicy, RequestAuthentication, with the constraints and CEL rules of Istio's CRDs.
import { s, type Infer } from './dsl.js';
import { countSet, duration, PolicyTargetReference, WorkloadSelector } from './common.js';
import { goUrlParse } from './formats.js';

const SELECTOR_OR_REFS_CEL = '(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1';
const oneSelector = (o: Record<string, unknown>) => countSet(o, 'selector', 'targetRef', 'targetRefs') <= 1;

const MtlsMode = () => s.enum('UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT');

const portKey = (k: string) => /^[0-9]+$/.test(k);

export const PeerAuthentication = s
  .object({
    selector: WorkloadSelector(),
    mtls: s.object({ mode: MtlsMode() }),
    portLevelMtls: s
      .map(s.object({ mode: MtlsMode() }))
      .minProperties(1)
      .rule('port must be between 1-65535', (m) => Object.keys(m).every((k) => portKey(k) && Number(k) > 0 && Number(k) <= 65535), 'self.all(key, 0 < int(key) && int(key) <= 65535)')
      // The proto map is keyed by uint32: other keys do not convert.
      .refine((m) => {
        const bad = Object.keys(m).find((k) => !portKey(k) || Number(k) > 4294967295);
        return bad === undefined ? undefined : `invalid port key ${JSON.stringify(bad)}: expected an unsigned 32-bit integer`;
      }),
  })
  .rule(
    'portLevelMtls requires selector',
    (pa) => pa.portLevelMtls === undefined || Object.keys(pa.selector?.matchLabels ?? {}).length > 0,
    'has(self.portLevelMtls) ? (((has(self.selector) && has(self.selector.matchLabels)) ? self.selector.matchLabels : {}).size() > 0) : true',
  );

const strings = () => s.list(s.string());

export const Source = s
  .object({
    principals: strings(),
    notPrincipals: strings(),
    requestPrincipals: strings(),
    notRequestPrincipals: strings(),
    namespaces: strings(),
    notNamespaces: strings(),
    serviceAccounts: s.list(s.string().maxLength(320)).maxItems(16),
    notServiceAccounts: s.list(s.string().maxLength(320)).maxItems(16),
    ipBlocks: strings(),
    notIpBlocks: strings(),
    remoteIpBlocks: strings(),
    notRemoteIpBlocks: strings(),
    trustDomains: strings(),
    notTrustDomains: strings(),
  })
  .rule(
    'Cannot set serviceAccounts with namespaces or principals',
    (src) =>
      !(src.serviceAccounts !== undefined || src.notServiceAccounts !== undefined) ||
      countSet(src, 'principals', 'notPrincipals', 'namespaces', 'notNamespaces') === 0,
    '(has(self.serviceAccounts) || has(self.notServiceAccounts)) ? (!has(self.principals) && !has(self.notPrincipals) && !has(self.namespaces) && !has(self.notNamespaces)) : true',
  );

export const Operation = s.object({
  hosts: strings(),
  notHosts: strings(),
  ports: strings(),
  notPorts: strings(),
  methods: strings(),
  notMethods: strings(),
  paths: strings(),
  notPaths: strings(),
});

export const Condition = s.object({ key: s.string(), values: strings(), notValues: strings() }, { required: ['key'] });

export const Rule = s.object({
  from: s.list(s.object({ source: Source })).maxItems(512),
  to: s.list(s.object({ operation: Operation })),
  when: s.list(Condition),
});

export const AuthorizationPolicy = s
  .object(
    {
      selector: WorkloadSelector(),
      targetRef: PolicyTargetReference(),
      targetRefs: s.list(PolicyTargetReference()).maxItems(16),
      rules: s.list(Rule).maxItems(512),
      action: s.enum('ALLOW', 'DENY', 'AUDIT', 'CUSTOM'),
      provider: s.object({ name: s.string() }),
    },
  )
  .rule('only one of targetRefs or selector can be set', oneSelector, SELECTOR_OR_REFS_CEL);

const nonEmptyStrings = () => s.list(s.string().minLength(1));

const httpUrl = () =>
  s
    .string()
    .minLength(1)
    .maxLength(2048)
    .rule(
      'url must have scheme http:// or https://',
      (v) => {
        const u = goUrlParse(v);
        return !('error' in u) && (u.scheme === 'http' || u.scheme === 'https');
      },
      'url(self).getScheme() in ["http", "https"]',
    );

export const JWTRule = s
  .object(
    {
      issuer: s.string().minLength(1),
      audiences: nonEmptyStrings(),
      jwksUri: httpUrl(),
      jwks: s.string(),
      fromHeaders: s.list(s.object({ name: s.string().minLength(1), prefix: s.string() }, { required: ['name'] })),
      fromCookies: nonEmptyStrings(),
      fromParams: nonEmptyStrings(),
      outputPayloadToHeader: s.string(),
      forwardOriginalToken: s.bool(),
      outputClaimToHeaders: s.list(
        s.object({ header: s.string().minLength(1).pattern('^[-_A-Za-z0-9]+$'), claim: s.string().minLength(1) }, { required: ['header', 'claim'] }),
      ),
      spaceDelimitedClaims: nonEmptyStrings().maxItems(64),
      timeout: duration(),
      presence: s.enum('OPTIONAL', 'REQUIRED'),
    },
    { aliases: { jwks_uri: 'jwksUri' } },
  )
  .rule(
    'only one of jwks or jwksUri can be set',
    (r) => countSet(r, 'jwksUri', 'jwks') <= 1,
    '(has(self.jwksUri) ? 1 : 0) + (has(self.jwks_uri) ? 1 : 0) + (has(self.jwks) ? 1 : 0) <= 1',
  );

export const RequestAuthentication = s
  .object({
    selector: WorkloadSelector(),
    targetRef: PolicyTargetReference(),
    targetRefs: s.list(PolicyTargetReference()).maxItems(16),
    jwtRules: s.list(JWTRule).maxItems(4096),
  })
  .rule('only one of targetRefs or selector can be set', oneSelector, SELECTOR_OR_REFS_CEL);

export type PeerAuthentication = Infer<typeof PeerAuthentication>;
export type AuthorizationPolicy = Infer<typeof AuthorizationPolicy>;
export type AuthorizationRule = Infer<typeof Rule>;
export type Source = Infer<typeof Source>;
export type Operation = Infer<typeof Operation>;
export type Condition = Infer<typeof Condition>;
export type RequestAuthentication = Infer<typeof RequestAuthentication>;
export type JWTRule = Infer<typeof JWTRule>;
