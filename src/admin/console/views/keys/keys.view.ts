import type { SpKeyView } from '../../../../keys/sp-keys.service';
import type { OidcSigningKeysService } from '../../../../oidc/oidc-signing-keys.service';
import { actionButton, date, table } from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';
import { consoleLayout, type ConsoleChrome } from '../../../../web/layout';

type SigningKey = Awaited<ReturnType<OidcSigningKeysService['list']>>[number];

/** Keys: the OIDC signing keys (rotate) and every connection's SP keys. */
export function keysPage(input: {
  session: NonNullable<ConsoleChrome['session']>;
  signingKeys: SigningKey[];
  spKeys: Array<{ connection: { id: string; name: string }; key: SpKeyView }>;
  notice: unknown;
}): Html {
  const spRows = input.spKeys.map(({ connection: c, key: k }) => [
    html`<a href="/admin/connections/${c.id}#sp-keys">${c.name}</a>`,
    k.status,
    html`<code>${k.fingerprint}</code>`,
    date(k.notAfter),
    date(k.createdAt),
  ]);
  const oidcRows = input.signingKeys.map((k) => [
    html`<code>${k.kid}</code>`,
    k.alg,
    k.status,
    date(k.createdAt),
    k.status === 'retired'
      ? html`published until ${date(k.publishUntil)}`
      : k.status === 'current'
        ? 'signs tokens'
        : 'published, signs after the next rotation',
  ]);
  return consoleLayout(
    {
      title: 'Keys',
      session: input.session,
      active: 'keys',
      notice: input.notice === 'rotated' ? 'OIDC signing keys rotated: the next key signs now.' : undefined,
    },
    html`<h2>OIDC signing keys</h2><p>Apps verify tokens with the JWKS. Rotating makes the published next key sign; the old key stays published until its tokens have expired.</p>${table(
      'OIDC signing keys',
      ['Key id', 'Algorithm', 'Status', 'Created', 'Role'],
      oidcRows,
      'No signing keys yet.',
    )}${actionButton(
      '/admin/keys/rotate',
      input.session.csrfToken,
      'Rotate the OIDC signing keys',
    )}<h2>SP keys per connection</h2><p>Each connection signs AuthnRequests and decrypts assertions with its own key. Roll a key over from the connection's page (create the next key, let the customer refresh the SP metadata, then promote).</p>${table(
      'SP keys',
      ['Connection', 'Status', 'SHA-256', 'Valid until', 'Created'],
      spRows,
      'No connections yet.',
    )}`,
  );
}
