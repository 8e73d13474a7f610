import type { ConnectionEntity } from '../../../../connections/connection.entity';
import { csrfField, textField } from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';
import { consoleLayout } from '../../../../web/layout';
import type { ConsoleSession } from '../../console-sessions.service';
import { connectionsChrome } from './connection-chrome';

/** The confirmation before a connection is deleted: the admin types its slug. */
export function connectionDeleteView(session: ConsoleSession, c: ConnectionEntity): Html {
  return consoleLayout(
    connectionsChrome(session, { title: `Delete ${c.name}?` }),
    html`<p>Deleting <strong>${c.name}</strong> (<code>${c.slug}</code>) stops every login through it at once, and removes its SP keys. Users of this connection can no longer sign in. This cannot be undone.</p><form method="post" action="/admin/connections/${c.id}/delete" class="main">${csrfField(
      session.csrfToken,
    )}${textField({
      name: 'confirmSlug',
      label: `Type the slug (${c.slug}) to confirm`,
      required: true,
      autocomplete: 'off',
    })}<button type="submit" class="danger">Delete this connection</button> <a href="/admin/connections/${c.id}">Cancel</a></form>`,
  );
}
