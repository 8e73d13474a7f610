import type { ConnectionEntity } from '../../../../connections/connection.entity';
import { copyable, date } from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';
import { consoleLayout } from '../../../../web/layout';
import type { ConsoleSession } from '../../console-sessions.service';
import { connectionsChrome } from './connection-chrome';

/** A new setup link, shown once (only its hash is stored). */
export function setupLinkCreatedView(input: {
  session: ConsoleSession;
  connection: ConnectionEntity;
  url: string;
  expiresAt: Date;
}): Html {
  const c = input.connection;
  return consoleLayout(
    connectionsChrome(input.session, { title: `Setup link for ${c.name}` }),
    html`<section class="secret" aria-labelledby="link-heading"><h2 id="link-heading">Setup link — shown only now</h2><p>Send it to the customer's IT admin. It opens the setup page of this connection only, until ${date(
      input.expiresAt,
    )}. The bridge stores only a hash: it cannot show this link again. If it is lost, revoke it and create another.</p>${copyable(
      'setup-link-url',
      'Setup link',
      input.url,
    )}</section><p><a href="/admin/connections/${c.id}#setup-links">Back to ${c.name}</a></p>`,
  );
}
