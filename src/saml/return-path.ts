/** RelayState from an IdP is at most this long (SAML bindings §3.4.3: 80 bytes). */
export const MAX_RELAY_STATE = 80;

/**
 * True for a same-origin absolute path such as `/app/home?x=1`: no scheme, no host, no `//` or `/\`
 * (protocol-relative), no control characters or spaces. Anything else could be an open redirect.
 */
export function isSafeReturnPath(value: unknown, maxLength = 2048): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= maxLength &&
    /^\/(?![/\\])[\x21-\x7e]*$/.test(value) &&
    !value.includes('\\')
  );
}
