// A protobuf registry of every generated type (Envoy, xDS, Istio's own protos and everything
// they import), to pack, unpack, print and validate `Any` values.
import { createRegistry, type DescFile, type Registry } from '@bufbuild/protobuf';
import { allFiles } from '../../gen/files.js';

let cached: Registry | undefined;

export function envoyRegistry(): Registry {
  if (cached) return cached;
  const files = new Set<DescFile>();
  const add = (f: DescFile): void => {
    if (files.has(f)) return;
    files.add(f);
    f.dependencies.forEach(add);
  };
  allFiles.forEach(add);
  cached = createRegistry(...files);
  return cached;
}
