import type { Response } from 'express';
import { render, type Html } from '../../web/html';
import type { ConsoleChrome } from '../../web/layout';
import type { ConsoleSession } from './console-sessions.service';

/** Sends a console page: HTML, never cached. */
export function sendPage(res: Response, view: Html, status = 200): void {
  res.status(status).setHeader('Cache-Control', 'no-store').type('html').send(render(view));
}

/** The signed-in part of the console chrome (navigation, sign-out form) for a session. */
export function sessionChrome(session: ConsoleSession): NonNullable<ConsoleChrome['session']> {
  return { adminName: session.admin.name, csrfToken: session.csrfToken };
}
