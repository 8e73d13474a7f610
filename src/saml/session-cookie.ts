import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';

/** The bridge session cookie: `__Host-` prefixed (and Secure) when the bridge is served over https. */
export function sessionCookieName(baseUrl: string): string {
  return baseUrl.startsWith('https:') ? '__Host-bridge_session' : 'bridge_session';
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

/** HttpOnly, SameSite=Lax (sent on the same-site GET after the IdP's cross-site POST), Path=/. */
export function setSessionCookie(res: Response, baseUrl: string, token: string, expires: Date): void {
  res.cookie(sessionCookieName(baseUrl), token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: baseUrl.startsWith('https:'),
    path: '/',
    expires,
  });
}

export function clearSessionCookie(res: Response, baseUrl: string): void {
  res.clearCookie(sessionCookieName(baseUrl), {
    httpOnly: true,
    sameSite: 'lax',
    secure: baseUrl.startsWith('https:'),
    path: '/',
  });
}

/** The browser-binding cookie: identifies the browser that started a login (not a credential). */
export function browserCookieName(baseUrl: string): string {
  return baseUrl.startsWith('https:') ? '__Host-bridge_browser' : 'bridge_browser';
}

/** The browser's binding value, set now if it has none yet. SameSite=Lax: read on same-site GETs only. */
export function ensureBrowserBinding(req: Request, res: Response, baseUrl: string): string {
  const name = browserCookieName(baseUrl);
  const existing = readCookie(req, name);
  if (existing && existing.length >= 32) return existing;
  const value = randomBytes(32).toString('base64url');
  res.cookie(name, value, {
    httpOnly: true,
    sameSite: 'lax',
    secure: baseUrl.startsWith('https:'),
    path: '/',
  });
  return value;
}
