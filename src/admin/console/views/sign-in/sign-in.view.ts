import { textField } from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';
import { consoleLayout } from '../../../../web/layout';
import type { AdminSsoConnection } from '../../console-sign-in';

/** The console's sign-in page: an admin key, or a connection set up for admin sign-in. */
export function signInPage(input: {
  next: string;
  sso: AdminSsoConnection[];
  error?: string;
  reason?: string;
}): Html {
  const { next, error, reason } = input;
  return consoleLayout(
    { title: 'Sign in', error: error ? `${error}${reason ? ` (${reason})` : ''}` : undefined },
    html`<p>Sign in with the bootstrap admin key (<code>ADMIN_API_KEY</code>) or an admin API key.</p><form method="post" action="/admin/sign-in" class="main"><input type="hidden" name="next" value="${next}">${textField(
      {
        name: 'key',
        label: 'Admin key',
        type: 'password',
        required: true,
        autocomplete: 'current-password',
        error: error ? error : undefined,
      },
    )}<button type="submit">Sign in</button></form>${
      input.sso.length
        ? html`<h2>Or sign in with your company account</h2>${input.sso.map(
            (c) =>
              html`<form method="post" action="/admin/sso/start" class="inline"><input type="hidden" name="connection" value="${c.slug}"><input type="hidden" name="next" value="${next}"><button type="submit">Sign in with ${c.name}</button></form>`,
          )}`
        : ''
    }`,
  );
}

/** After an SSO sign-in: continue to the console (automatically when script runs). */
export function ssoSignedInPage(input: { who: string; connectionName: string; next: string }): Html {
  return consoleLayout(
    { title: 'Signed in' },
    html`<p role="status">Signed in to the console as <strong>${input.who}</strong> through ${input.connectionName}.</p><p><a href="${input.next}" data-auto-continue>Continue to the console</a></p>`,
  );
}
