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

  fileOf(i: number): string {
    return join(this.dir, `svc-${i}.yaml`);
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

  private writeService(i: number): void {
    const text = serviceDocs(i, this.size, this.states.get(i)).join('\n---\n') + '\n';
    // Dot files are not config: the rename makes the change appear at once.
    const tmp = join(this.dir, `.svc-${i}.yaml.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, this.fileOf(i));
  }
}
