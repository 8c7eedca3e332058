// What an HTTP connection manager does to a request's path before any filter or route sees it
// (normalize_path, merge_slashes, path_with_escaped_slashes_action), so `x trace` matches
// policies and routes on the path Envoy would.
import { HttpConnectionManager_PathWithEscapedSlashesAction as Escaped, type HttpConnectionManager } from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';

/** Percent-encodings of unreserved characters stand for the characters themselves (RFC 3986 §6.2.2.2). */
function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})/g, (all, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : all.toUpperCase();
  });
}

/** RFC 3986 §5.2.4: `.` and `..` segments resolved, never above the root. */
function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..' && out.length > 1) out.pop();
      if (last) out.push('');
    } else out.push(seg);
  });
  const joined = out.join('/');
  return joined.startsWith('/') ? joined : `/${joined}`;
}

/** The path (query kept as is) after the connection manager's normalization. */
export function normalizeRequestPath(fullPath: string, hcm: Pick<HttpConnectionManager, 'normalizePath' | 'mergeSlashes' | 'pathWithEscapedSlashesAction'>): string {
  const q = fullPath.search(/[?#]/);
  let path = q < 0 ? fullPath : fullPath.slice(0, q);
  const rest = q < 0 ? '' : fullPath.slice(q);
  const action = hcm.pathWithEscapedSlashesAction;
  if (action === Escaped.UNESCAPE_AND_FORWARD || action === Escaped.UNESCAPE_AND_REDIRECT) path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
  if (hcm.normalizePath) path = removeDotSegments(decodeUnreserved(path.replace(/\\/g, '/')));
  if (hcm.mergeSlashes) path = path.replace(/\/{2,}/g, '/');
  return path + rest;
}
