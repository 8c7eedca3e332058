// The simulated mesh as a config directory isthmusd watches: one file per service, rewritten
// atomically (write + rename) when the simulator changes a VirtualService or moves an endpoint.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceDocs, sidecarDocs, type MeshSize, type ServiceState } from '../mesh.js';

export class MeshDir {
  private readonly states = new Map<number, ServiceState>();

  constructor(
    readonly dir: string,
    readonly size: MeshSize,
  ) {}

  writeAll(): void {
    mkdirSync(this.dir, { recursive: true });
    for (let i = 0; i < this.size.services; i++) this.writeService(i);
    if (this.size.scoped) writeFileSync(join(this.dir, 'sidecars.yaml'), sidecarDocs(this.size).join('\n---\n') + '\n');
  }

  setWeights(i: number, weights: [number, number]): void {
    this.states.set(i, { ...this.states.get(i), weights });
    this.writeService(i);
  }

  /** Moves endpoint `e` of service `i` to another pod IP (or back): an endpoint-only change. */
  toggleEndpoint(i: number, e: number): void {
    const state = this.states.get(i) ?? {};
    const moved = new Set(state.moved ?? []);
    if (moved.has(e)) moved.delete(e);
    else moved.add(e);
    this.states.set(i, { ...state, moved });
    this.writeService(i);
  }

  /** Puts a namespace-wide ALLOW AuthorizationPolicy in `namespace` (or changes the namespaces it allows). */
  setNamespacePolicy(namespace: string, allowedNamespaces: readonly string[]): void {
    const doc = [
      'apiVersion: security.istio.io/v1',
      'kind: AuthorizationPolicy',
      `metadata: {name: allow-callers, namespace: ${namespace}}`,
      `spec: {rules: [{from: [{source: {namespaces: [${allowedNamespaces.join(', ')}]}}]}]}`,
    ].join('\n');
    this.writeAtomically(`authz-${namespace}.yaml`, `${doc}\n`);
  }

  private writeService(i: number): void {
    this.writeAtomically(`svc-${i}.yaml`, serviceDocs(i, this.size, this.states.get(i)).join('\n---\n') + '\n');
  }

  private writeAtomically(name: string, text: string): void {
    // Dot files are not config: the rename makes the change appear at once.
    const tmp = join(this.dir, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(this.dir, name));
  }
}
