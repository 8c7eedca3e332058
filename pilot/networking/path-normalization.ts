// How Envoy normalizes request paths before anything matches on them (MeshConfig
// pathNormalization). Istio normalizes by default: without it, a path-based AuthorizationPolicy
// that denies `/admin` lets `/public/../admin` through to an application that resolves it.
import { HttpConnectionManager_PathWithEscapedSlashesAction as EscapedSlashes } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import type { PathNormalization } from '../model/mesh.js';

export interface PathNormalizationFields {
  normalizePath: boolean;
  mergeSlashes: boolean;
  pathWithEscapedSlashesAction: EscapedSlashes;
}

/** The connection manager fields for a mode, as istiod sets them on every HTTP connection manager. */
export function pathNormalizationFields(mode: PathNormalization): PathNormalizationFields {
  switch (mode) {
    case 'NONE':
      return { normalizePath: false, mergeSlashes: false, pathWithEscapedSlashesAction: EscapedSlashes.KEEP_UNCHANGED };
    case 'MERGE_SLASHES':
      return { normalizePath: true, mergeSlashes: true, pathWithEscapedSlashesAction: EscapedSlashes.KEEP_UNCHANGED };
    case 'DECODE_AND_MERGE_SLASHES':
      return { normalizePath: true, mergeSlashes: true, pathWithEscapedSlashesAction: EscapedSlashes.UNESCAPE_AND_FORWARD };
    default:
      return { normalizePath: true, mergeSlashes: false, pathWithEscapedSlashesAction: EscapedSlashes.KEEP_UNCHANGED };
  }
}
