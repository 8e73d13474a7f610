/**
 * The success messages a page shows after a redirect (`?notice=code`): the text for a known code, nothing
 * for any other value (a code is never shown as it came).
 */
export function noticeFor(notices: Readonly<Record<string, string>>, code: unknown): string | undefined {
  return typeof code === 'string' && Object.hasOwn(notices, code) ? notices[code] : undefined;
}
