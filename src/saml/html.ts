import { html, render, type Html } from '../web/html';
import { scriptNonce, signInLayout } from '../web/layout';

/**
 * The pages end users see on the sign-in path (SAML auto-post, the test-login result, message pages).
 * Every value is escaped by the `html` template (web/html.ts).
 */

/** A page that posts a SAML message to the IdP (HTTP-POST binding); works without JavaScript too. */
export function autoPostPage(action: string, fields: Record<string, string>): { html: string; csp: string } {
  const nonce = scriptNonce();
  const inputs = Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
  const page = signInLayout(
    'Signing in…',
    html`<noscript><p>Press the button to continue to your identity provider.</p></noscript><form method="post" action="${action}">${inputs}<button type="submit">Continue</button></form><script nonce="${nonce}">document.forms[0].submit();</script>`,
  );
  const origin = new URL(action).origin;
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; form-action ${origin}; base-uri 'none'; frame-ancestors 'none'`;
  return { html: render(page), csp };
}

/**
 * A sign-in error page with an explicit title (the OpenID Provider's own errors). Errors caught by a Nest
 * filter go through web/error-page.ts, which picks the title from the status.
 */
export function errorPage(input: {
  title: string;
  message: string;
  reason: string;
  traceId?: string;
}): string {
  return render(
    signInLayout(
      input.title,
      html`<h1>${input.title}</h1><p>${input.message}</p><p class="muted">Reason: <code>${input.reason}</code>${
        input.traceId ? html`<br>Trace id: <code>${input.traceId}</code>` : ''
      }</p><p class="muted">If this keeps happening, give the reason and trace id to your administrator.</p>`,
    ),
  );
}

/** Joins fragments with a separator of markup. */
function joinHtml(parts: Html[], separator: Html): Html {
  return html`${parts.map((p, i) => (i === 0 ? p : html`${separator}${p}`))}`;
}

export function sessionPage(input: {
  email: string | null;
  name: string | null;
  connection: string;
  groups: string[];
  logoutUrl: string;
}): string {
  return render(
    signInLayout(
      'Signed in',
      html`<h1>Signed in</h1><p>You are signed in as <strong>${input.name ?? input.email ?? 'unknown'}</strong>${
        input.email ? html` (<span id="email">${input.email}</span>)` : ''
      } through <code>${input.connection}</code>.</p>${
        input.groups.length
          ? html`<p>Groups: ${joinHtml(
              input.groups.map((g) => html`<code>${g}</code>`),
              html` `,
            )}</p>`
          : ''
      }<form method="get" action="${input.logoutUrl}"><button type="submit">Sign out</button></form>`,
    ),
  );
}

/** A page with a title and one paragraph of text. */
export function messagePage(title: string, message: string): string {
  return render(messagePageWith(title, html`<p>${message}</p>`));
}

/** A page with a title and a body of markup (a form, several paragraphs). */
export function messagePageWith(title: string, body: Html): Html {
  return signInLayout(title, html`<h1>${title}</h1>${body}`);
}

/** What a test login page shows (SamlService's TestLoginResult satisfies it). */
export interface TestLoginView {
  connection: { slug: string; name: string };
  mapped: {
    subject: string;
    subjectSource: string;
    email: string | null;
    emailVerified: boolean;
    givenName: string | null;
    familyName: string | null;
    displayName: string | null;
    groups: string[];
  };
  attributes: Record<string, string[]>;
  nameId: string;
  nameIdFormat?: string;
  authnContextClassRef?: string;
  existingUser: { id: string; disabled: boolean } | null;
  backTo: string | null;
  traceId?: string;
}

/** The result of a test login: the mapped claims and the raw attributes, and what was not done. */
export function testLoginPage(r: TestLoginView): string {
  const none = html`<em>none</em>`;
  const code = (v: string | null | undefined): Html => (v ? html`<code>${v}</code>` : none);
  const row = (label: string, value: Html | string, id: string) =>
    html`<tr><th scope="row">${label}</th><td id="claim-${id}">${value}</td></tr>`;
  const claims = [
    row('Subject (stable user id)', code(r.mapped.subject), 'subject'),
    row('Subject taken from', code(r.mapped.subjectSource), 'subject-source'),
    row('Email', code(r.mapped.email), 'email'),
    row(
      'Email verified (domain of this connection)',
      r.mapped.emailVerified ? 'yes' : 'no',
      'email-verified',
    ),
    row('Given name', code(r.mapped.givenName), 'given-name'),
    row('Family name', code(r.mapped.familyName), 'family-name'),
    row('Display name', code(r.mapped.displayName), 'display-name'),
    row('Groups', r.mapped.groups.length ? joinHtml(r.mapped.groups.map(code), html` `) : none, 'groups'),
  ];
  const attributes = Object.entries(r.attributes).map(
    ([name, values]) =>
      html`<tr><td><code>${name}</code></td><td>${joinHtml(values.map(code), html`<br>`)}</td></tr>`,
  );
  const user = r.existingUser
    ? html`This identity is an existing user${
        r.existingUser.disabled ? html`, who is <strong>disabled</strong>: a real login would be refused` : ''
      }.`
    : html`No user has this identity yet: a real login would create one.`;
  const attributeTable = attributes.length
    ? html`<table id="attributes"><thead><tr><th scope="col">Attribute name</th><th scope="col">Values</th></tr></thead><tbody>${attributes}</tbody></table>`
    : html`<p>The assertion carries no attributes.</p>`;
  return render(
    signInLayout(
      'Test login succeeded',
      html`<h1>Test login succeeded</h1><p role="status">The identity provider of <strong>${r.connection.name}</strong> (<code>${r.connection.slug}</code>) signed in a user, and the bridge accepted the response. This was a test: nobody was signed in to any app and no user was created or updated.</p><p>${user}</p><h2>Mapped claims</h2><table><tbody>${claims}</tbody></table><h2>NameID</h2><p>${code(r.nameId)} <span class="muted">${r.nameIdFormat ?? ''}</span></p>${
        r.authnContextClassRef
          ? html`<p class="muted">Authentication context: <code>${r.authnContextClassRef}</code></p>`
          : ''
      }<h2>Attributes as sent by the IdP</h2>${attributeTable}${
        r.traceId ? html`<p class="muted">Trace id: <code>${r.traceId}</code></p>` : ''
      }${r.backTo ? html`<p><a href="${r.backTo}">Back</a></p>` : ''}`,
    ),
  );
}
