// Boolean environment variables read as istiod reads them (Go's strconv.ParseBool): an unset,
// empty or unparsable value leaves the default, so a typo never turns a security check off.
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool: undefined where it returns an error. */
export function parseGoBool(value: string): boolean | undefined {
  return TRUE.has(value) ? true : FALSE.has(value) ? false : undefined;
}

/** `onInvalid` hears a set value that is not a boolean (istiod warns about those too). */
export function envBool(value: string | undefined, fallback: boolean, onInvalid?: (value: string) => void): boolean {
  if (value === undefined || value === '') return fallback;
  const parsed = parseGoBool(value);
  if (parsed !== undefined) return parsed;
  onInvalid?.(value);
  return fallback;
}
