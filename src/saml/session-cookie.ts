import type { CookieOptions, Request, Response } from 'express';
import { randomBytes } from 'node:crypto';

/** What the bridge's cookies depend on (BridgeConfig satisfies it). */
export interface CookieSettings {
  baseUrl: string;
  /** Share the cookies with subdomains (COOKIE_DOMAIN); host-only when unset. */
  cookieDomain?: string;
}

/**
 * `__Host-` prefix on https when host-only (the strictest), `__Secure-` on https with a cookie domain,
 * no prefix on plain http (development).
 */
function cookieName(settings: CookieSettings, base: string): string {
  if (!settings.baseUrl.startsWith('https:')) return base;
  return settings.cookieDomain ? `__Secure-${base}` : `__Host-${base}`;
}

/** HttpOnly, SameSite=Lax (sent on the same-site GET after the IdP's cross-site POST), Path=/. */
function cookieOptions(settings: CookieSettings): CookieOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    secure: settings.baseUrl.startsWith('https:'),
    path: '/',
    ...(settings.cookieDomain ? { domain: settings.cookieDomain } : {}),
  };
}

/** The bridge session cookie. */
export function sessionCookieName(settings: CookieSettings): string {
  return cookieName(settings, 'bridge_session');
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{1,128}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

export function setSessionCookie(
  res: Response,
  settings: CookieSettings,
  token: string,
  expires: Date,
): void {
  res.cookie(sessionCookieName(settings), token, { ...cookieOptions(settings), expires });
}

export function clearSessionCookie(res: Response, settings: CookieSettings): void {
  res.clearCookie(sessionCookieName(settings), cookieOptions(settings));
}

/** The browser-binding cookie: identifies the browser that started a login (not a credential). */
export function browserCookieName(settings: CookieSettings): string {
  return cookieName(settings, 'bridge_browser');
}

/** The browser's binding value, set now if it has none yet. SameSite=Lax: read on same-site GETs only. */
export function ensureBrowserBinding(req: Request, res: Response, settings: CookieSettings): string {
  const name = browserCookieName(settings);
  const existing = readCookie(req, name);
  if (existing && existing.length >= 32) return existing;
  const value = randomBytes(32).toString('base64url');
  res.cookie(name, value, cookieOptions(settings));
  return value;
}
