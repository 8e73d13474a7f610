import type { CookieOptions, Request, Response } from 'express';
import { readCookie } from '../../saml/session-cookie';

/** What the setup cookie depends on (BridgeConfig satisfies it). */
export interface SetupCookieSettings {
  baseUrl: string;
}

/**
 * The setup link's token, once the link is opened, travels in this cookie instead of the URL: HttpOnly,
 * host-only, Path=/setup (never sent elsewhere), SameSite=Lax (the link is opened from an email or chat,
 * a cross-site navigation), Secure on https. A session cookie: it ends with the browser session.
 */
export function setupCookieName(settings: SetupCookieSettings): string {
  return settings.baseUrl.startsWith('https:') ? '__Secure-bridge_setup' : 'bridge_setup';
}

function options(settings: SetupCookieSettings): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: settings.baseUrl.startsWith('https:'), path: '/setup' };
}

export function readSetupCookie(req: Request, settings: SetupCookieSettings): string | undefined {
  return readCookie(req, setupCookieName(settings));
}

export function setSetupCookie(res: Response, settings: SetupCookieSettings, token: string): void {
  res.cookie(setupCookieName(settings), token, options(settings));
}
