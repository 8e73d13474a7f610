import type { Request, Response } from 'express';

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
