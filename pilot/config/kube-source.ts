// The production config source: every kind Isthmus reads, listed and watched from the
// Kubernetes API into the same store the directory source fills. Each object goes through the
// same parser as a file: one the parser rejects is reported by kind, namespace/name and field,
// and its last good version (if any) keeps being served.
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';
import { Reflector, type KubeObject } from '../kube/reflector.js';
import { KINDS, type KindInfo } from './kinds.js';
import { formatConfigError, parseObject, type ConfigError } from './parse.js';
import { resourceKey, type Resource } from './resource.js';
import { MemoryConfigStore } from './store.js';

/**
 * Secrets of these types never hold mesh credentials, and Helm's release records are large
 * and churn with every upgrade: istiod's secret informer leaves them out the same way.
 */
const SECRET_FIELD_SELECTOR = 'type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token';

/**
 * What Isthmus reads of the built-in kinds whose other fields change all the time (pod and node
 * status, the annotations that leader-election locks renew every few seconds). Everything else
 * is dropped before parsing, so such writes leave the stored resource as it was and push nothing.
 */
function projected(kind: string, object: KubeObject): KubeObject {
  const meta = (object.metadata ?? {}) as Record<string, unknown>;
  const { managedFields: _m, ...metadata } = meta;
  const pick = (o: unknown, keys: string[]) => Object.fromEntries(keys.filter((k) => (o as Record<string, unknown> | undefined)?.[k] !== undefined).map((k) => [k, (o as Record<string, unknown>)[k]]));
  const head = { apiVersion: object.apiVersion, kind: object.kind };
  switch (kind) {
    case 'Node':
      return { ...head, metadata: pick(metadata, ['name', 'labels', 'uid', 'resourceVersion', 'creationTimestamp']) };
    case 'Pod':
      return {
        ...head,
        metadata,
        spec: pick(object.spec, ['serviceAccountName', 'nodeName', 'hostNetwork']),
        status: {
          ...pick(object.status, ['podIP', 'podIPs', 'phase']),
          // Readiness decides whether a pod is an endpoint; the other conditions change with every probe.
          conditions: ((object.status as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions ?? [])
            .filter((c) => c.type === 'Ready')
            .map((c) => ({ type: c.type, status: c.status })),
        },
      };
    case 'Namespace':
      return { ...head, metadata, status: pick(object.status, ['phase']) };
    case 'ConfigMap': {
      const { annotations: _a, ...rest } = metadata;
      return { ...object, metadata: rest };
    }
    default:
      return { ...object, metadata };
  }
}

export interface KubeSourceOptions {
  /** Retry delays, shortened by tests. */
  backoffMs?: { initial: number; max: number };
  absentRetryMs?: number;
}

interface Rejection {
  error: ConfigError;
  resourceVersion?: string;
}

export class KubeConfigSource {
  readonly store = new MemoryConfigStore();
  private readonly reflectors: Reflector[] = [];
  /** Rejected objects by store key: reported in `errors()` until a valid version or a delete. */
  private readonly rejected = new Map<string, Rejection>();
  private readonly discovery = new Map<string, { at: number; versions: Promise<Set<string>> }>();

  constructor(
    private readonly client: KubeClient,
    private readonly log?: Logger,
    private readonly opts: KubeSourceOptions = {},
  ) {}

  /** Starts every list/watch; resolves once each kind was listed or found not served. */
  async load(): Promise<void> {
    for (const info of KINDS) {
      const target = (version: string) => ({
        path: `${info.group ? `/apis/${info.group}` : '/api'}/${version}/${info.plural}`,
        apiVersion: info.group ? `${info.group}/${version}` : version,
      });
      const first = target(info.versions[0]!);
      let reportedAbsent = false;
      const reflector = new Reflector(
        this.client,
        {
          ...first,
          kind: info.apiKind ?? info.kind,
          fieldSelector: info.kind === 'Secret' && !info.group ? SECRET_FIELD_SELECTOR : undefined,
          backoffMs: this.opts.backoffMs,
          absentRetryMs: this.opts.absentRetryMs,
          // A cluster may serve an Istio or Gateway API kind at an older version only, and CRDs
          // come and go: the version is chosen again before every list.
          resolve: info.group && info.versions.length > 1 ? async () => target(await this.servedVersion(info)) : undefined,
          onError: (err, phase) => this.log?.warn({ err: err.message, kind: info.kind, phase }, 'Kubernetes list/watch failed; retrying'),
          onAbsent: () => {
            if (!reportedAbsent) this.log?.info({ kind: info.kind, group: info.group }, 'not served by the API server (CRD not installed?); checking again every minute');
            reportedAbsent = true;
          },
        },
        {
          replace: (objects) => this.replace(info, objects),
          upsert: (object) => this.upsert(info, object),
          remove: (object) => this.remove(info, object),
        },
      );
      this.reflectors.push(reflector);
      reflector.start();
    }
    await Promise.all(this.reflectors.map((r) => r.synced));
    const absent = this.reflectors.filter((r) => !r.present).length;
    this.log?.info({ kinds: this.reflectors.length - absent, notServed: absent }, 'Kubernetes config synced');
  }

  /** The newest of the kind's versions its group serves (API discovery, shared briefly by a group's kinds). */
  private async servedVersion(info: KindInfo): Promise<string> {
    let asked = this.discovery.get(info.group);
    if (!asked || performance.now() - asked.at > 1000) {
      const versions = this.client
        .json<{ versions?: { version: string }[] }>(`/apis/${info.group}`)
        .then((g) => new Set((g.versions ?? []).map((v) => v.version)))
        .catch(() => new Set<string>());
      this.discovery.set(info.group, (asked = { at: performance.now(), versions }));
    }
    const served = await asked.versions;
    return info.versions.find((v) => served.has(v)) ?? info.versions[0]!;
  }

  /** Nothing to start: watches begin with `load`. Present so both sources share one shape. */
  watch(): void {}

  close(): void {
    for (const r of this.reflectors) r.stop();
  }

  private parse(info: KindInfo, object: KubeObject): { resource?: Resource; error?: ConfigError; key: string } {
    const meta = object.metadata ?? {};
    const key = resourceKey(info.kind, info.clusterScoped ? '' : (meta.namespace ?? ''), meta.name ?? '');
    const parsed = parseObject(projected(info.kind, object), meta.namespace ?? '');
    if ('resource' in parsed) return { resource: parsed.resource, key };
    if ('ignored' in parsed) return { key, error: { kind: info.kind, namespace: meta.namespace, name: meta.name, message: `unexpected ${parsed.ignored}` } };
    const first = parsed.errors[0]!.error;
    const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more)` : '';
    return { key, error: { ...first, message: `${first.message}${more}` } };
  }

  /** Records a rejection, logging it once per version of the object; keeps the last good version. */
  private reject(key: string, error: ConfigError, object: KubeObject): void {
    const resourceVersion = object.metadata?.resourceVersion;
    const kept = this.store.get(error.kind ?? '', error.namespace ?? '', error.name ?? '') !== undefined;
    const full = kept ? { ...error, message: `${error.message}; still serving the last good version` } : error;
    const before = this.rejected.get(key);
    this.rejected.set(key, { error: full, resourceVersion });
    if (!before || before.resourceVersion !== resourceVersion) this.log?.warn({ kind: error.kind }, `rejected config: ${formatConfigError(full)}`);
  }

  private publishErrors(): void {
    this.store.setErrors([...this.rejected.values()].map((r) => r.error));
  }

  private replace(info: KindInfo, objects: KubeObject[]): void {
    const resources: Resource[] = [];
    const listed = new Set<string>();
    for (const object of objects) {
      const { resource, error, key } = this.parse(info, object);
      listed.add(key);
      if (resource) {
        this.rejected.delete(key);
        resources.push(resource);
        continue;
      }
      this.reject(key, error!, object);
      // The last good version of this very object (not of one deleted and created again meanwhile).
      const previous = this.store.get(info.kind, error!.namespace ?? '', error!.name ?? '');
      if (previous && previous.meta.uid === object.metadata?.uid) resources.push(previous);
    }
    for (const key of [...this.rejected.keys()]) if (key.startsWith(`${info.kind}/`) && !listed.has(key)) this.rejected.delete(key);
    this.store.replaceKind(info.kind, resources);
    this.publishErrors();
  }

  private upsert(info: KindInfo, object: KubeObject): void {
    const { resource, error, key } = this.parse(info, object);
    if (resource) {
      this.rejected.delete(key);
      this.store.apply(resource);
    } else {
      this.reject(key, error!, object);
    }
    this.publishErrors();
  }

  private remove(info: KindInfo, object: KubeObject): void {
    const meta = object.metadata ?? {};
    const namespace = info.clusterScoped ? '' : (meta.namespace ?? '');
    this.rejected.delete(resourceKey(info.kind, namespace, meta.name ?? ''));
    this.store.delete(info.kind, namespace, meta.name ?? '');
    this.publishErrors();
  }
}

