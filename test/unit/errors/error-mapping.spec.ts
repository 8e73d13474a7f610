/**
 * One mapping from a domain error's kind to the HTTP status, used by every surface: the JSON API, the HTML
 * error pages (console, setup, sign-in) and SCIM. A SAML rejection's trace detail never reaches the browser.
 */
import type { ArgumentsHost } from '@nestjs/common';
import { ApiExceptionFilter } from '../../../src/common/api-exception.filter';
import { DOMAIN_ERROR_KINDS, DomainError } from '../../../src/common/domain-error';
import { STATUS_OF_KIND, statusOfKind } from '../../../src/common/error-status';
import { scimErrorOf } from '../../../src/scim/scim-exception.filter';
import { LoginConsumers } from '../../../src/saml/login-consumers';
import { SamlPageFilter } from '../../../src/saml/saml-page.filter';
import { SamlRejection, TracedSamlRejection } from '../../../src/saml/saml-rejection';
import { describePageError, errorPageView, type HtmlSurface } from '../../../src/web/error-page';
import { render } from '../../../src/web/html';

const SECRET = 'secret-trace-detail-0001';

describe('domain error kind → HTTP status', () => {
  it('maps every kind, once', () => {
    expect(Object.keys(STATUS_OF_KIND).sort()).toEqual([...DOMAIN_ERROR_KINDS].sort());
    expect(DOMAIN_ERROR_KINDS.map((k) => [k, statusOfKind(k)])).toEqual([
      ['invalid', 400],
      ['unauthenticated', 401],
      ['forbidden', 403],
      ['not_found', 404],
      ['conflict', 409],
      ['gone', 410],
      ['too_large', 413],
      ['unprocessable', 422],
      ['unavailable', 503],
    ]);
  });

  it('gives the SAML refusals the statuses they always had', () => {
    const status = (reason: ConstructorParameters<typeof SamlRejection>[0]) =>
      statusOfKind(new SamlRejection(reason, 'm').kind);
    expect(status('saml_message_too_large')).toBe(413);
    expect(status('saml_connection_not_found')).toBe(404);
    expect(status('saml_login_unavailable')).toBe(409);
    for (const r of [
      'saml_connection_disabled',
      'saml_authn_context_unmet',
      'saml_authn_stale',
      'saml_user_disabled',
      'user_deprovisioned',
      'saml_browser_mismatch',
    ] as const) {
      expect(status(r)).toBe(403);
    }
    expect(status('saml_signature_invalid')).toBe(400);
    expect(status('saml_login_not_found')).toBe(400);
  });
});

describe('every surface renders the reason code and the safe message', () => {
  const api = new ApiExceptionFilter();

  it('JSON: {statusCode, code, message, details}', () => {
    expect(api.describe(DomainError.conflict('slug_taken', 'The slug is taken.', { slug: 'acme' }))).toEqual({
      statusCode: 409,
      code: 'slug_taken',
      message: 'The slug is taken.',
      details: { slug: 'acme' },
    });
    expect(api.describe(DomainError.notFound('user_not_found', 'No user with id u1.'))).toEqual({
      statusCode: 404,
      code: 'user_not_found',
      message: 'No user with id u1.',
    });
    // A SAML rejection's detail is for the trace only.
    const body = api.describe(new SamlRejection('saml_replay', 'Replayed.', { secret: SECRET }));
    expect(body).toEqual({ statusCode: 400, code: 'saml_replay', message: 'Replayed.' });
  });

  it.each<HtmlSurface>(['console', 'setup', 'sign-in'])('HTML (%s)', (surface) => {
    const e = describePageError(DomainError.gone('setup_link_expired', 'This setup link expired.'), 'req-1');
    expect(e).toMatchObject({ status: 410, reason: 'setup_link_expired', requestId: 'req-1' });
    const page = render(errorPageView(surface, e));
    expect(page).toContain('setup_link_expired');
    expect(page).toContain('This setup link expired.');
    expect(page).toContain('req-1');
  });

  it('HTML: a traced SAML rejection shows its trace id and never its detail', () => {
    const rejection = new SamlRejection('saml_signature_invalid', 'The signature is invalid.', {
      secret: SECRET,
    });
    const e = describePageError(new TracedSamlRejection(rejection, 'trace-9'), 'req-1');
    expect(e).toEqual({
      status: 400,
      reason: 'saml_signature_invalid',
      message: 'The signature is invalid.',
      requestId: 'trace-9',
      fromRejection: true,
    });
    const page = render(errorPageView('sign-in', e));
    expect(page).toContain('saml_signature_invalid');
    expect(page).toContain('trace-9');
    expect(page).not.toContain(SECRET);
  });

  it('SCIM: its own schema, the status from the same mapping', () => {
    const err = scimErrorOf(DomainError.invalid('bad_filter', 'The filter is invalid.'));
    expect(err.status).toBe(400);
    expect(JSON.stringify(err.body())).toContain('The filter is invalid.');
    expect(scimErrorOf(DomainError.unavailable('audit_unavailable', 'Retry.')).status).toBe(503);
  });
});

describe('SAML page filter: a refused login continues where its consumer says', () => {
  function run(exception: unknown, consumers: LoginConsumers) {
    const sent: { redirect?: [number, string]; status?: number; body?: string } = {};
    const res = {
      headersSent: false,
      locals: {},
      setHeader: () => res,
      redirect: (status: number, url: string) => {
        sent.redirect = [status, url];
      },
      status: (s: number) => {
        sent.status = s;
        return res;
      },
      type: () => res,
      send: (body: string) => {
        sent.body = body;
        return res;
      },
    };
    const host = {
      switchToHttp: () => ({
        getResponse: () => res,
        getRequest: () => ({ id: 'req-1', path: '/saml/acme/acs' }),
      }),
    } as unknown as ArgumentsHost;
    new SamlPageFilter(consumers).catch(exception, host);
    return sent;
  }

  function oidcConsumers() {
    const consumers = new LoginConsumers();
    consumers.register({
      id: 'oidc',
      continueUrl: () => '/oidc/interaction/abc/continue',
      refusedUrl: (reason) => `/oidc/interaction/abc/abort?reason=${reason}`,
    });
    return consumers;
  }

  it('an unmet step-up in an OIDC login ends at the app (the consumer’s refused URL)', () => {
    const rejection = new SamlRejection('saml_authn_context_unmet', 'No MFA.', { secret: SECRET });
    const traced = new TracedSamlRejection(rejection, 't1', { context: { consumer: 'oidc', state: {} } });
    expect(run(traced, oidcConsumers()).redirect).toEqual([
      303,
      '/oidc/interaction/abc/abort?reason=saml_authn_context_unmet',
    ]);
  });

  it('other refusals of that login, and refusals of no login, are the error page', () => {
    const consumers = oidcConsumers();
    const login = { context: { consumer: 'oidc', state: {} } };
    const replay = run(
      new TracedSamlRejection(new SamlRejection('saml_replay', 'Replayed.'), 't2', login),
      consumers,
    );
    expect(replay.redirect).toBeUndefined();
    expect(replay.status).toBe(400);
    expect(replay.body).toContain('saml_replay');
    const noLogin = run(
      new TracedSamlRejection(new SamlRejection('saml_user_disabled', 'Disabled.', { secret: SECRET }), 't3'),
      consumers,
    );
    expect(noLogin.redirect).toBeUndefined();
    expect(noLogin.status).toBe(403);
    expect(noLogin.body).toContain('saml_user_disabled');
    expect(noLogin.body).not.toContain(SECRET);
  });
});
