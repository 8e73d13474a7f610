import type { CookieOptions, Request, Response } from 'express';
import { readCookie } from '../../saml/session-cookie';

/** What the console cookie depends on (BridgeConfig satisfies it). */
export interface ConsoleCookieSettings {
  baseUrl: string;
}

/**
 * `__Host-admin_console` on https (Secure, host-only, Path=/: never shared with subdomains, whatever
 * COOKIE_DOMAIN says), `admin_console` on plain http (development and tests).
 */
export function consoleCookieName(settings: ConsoleCookieSettings): string {
  return settings.baseUrl.startsWith('https:') ? '__Host-admin_console' : 'admin_console';
}

function options(settings: ConsoleCookieSettings): CookieOptions {
  return { httpOnly: true, sameSite: 'strict', secure: settings.baseUrl.startsWith('https:'), path: '/' };
}

export function readConsoleCookie(req: Request, settings: ConsoleCookieSettings): string | undefined {
  return readCookie(req, consoleCookieName(settings));
}

export function setConsoleCookie(
  res: Response,
  settings: ConsoleCookieSettings,
  token: string,
  expires: Date,
): void {
  res.cookie(consoleCookieName(settings), token, { ...options(settings), expires });
}

export function clearConsoleCookie(res: Response, settings: ConsoleCookieSettings): void {
  res.clearCookie(consoleCookieName(settings), options(settings));
}
