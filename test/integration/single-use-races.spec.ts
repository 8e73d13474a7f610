import { DataSource } from 'typeorm';
import { LoginClient, type LoginEvidence } from '../support/login-client';
import type request from 'supertest';
import { createTestConnection, reasonOf, startLogin, type SamlConnectionFixture } from '../support/saml-flow';
import { databaseKinds, startTestApp, type TestApp } from '../support/test-app';
import { need } from '../support/defined';

/**
 * Single use under concurrency (the attacker with a stolen code or refresh token): N simultaneous
 * redemptions of one artefact, spread over two instances on one PostgreSQL (one instance on the embedded
 * database, which only one process may open), give exactly one success. The others get the protocol's
 * error, and where a replay must revoke what was issued (RFC 6749 §4.1.2, §10.4; OAuth 2.0 Security BCP
 * §4.14) the winner's tokens stop working too.
 */
const REDIRECT = 'https://app.example.com/callback';
const CONCURRENCY = [2, 8, 32];
const TRIALS = 3;
const noEvidence = (): LoginEvidence => ({ samlResponses: [], continues: [], codes: [] });

describe.each(databaseKinds())('single-use artefacts under concurrent redemption (%s)', (kind) => {
  let a: TestApp;
  let b: TestApp;
  let instances: TestApp[];
  let saml: SamlConnectionFixture;
  let client: { clientId: string; clientSecret: string };
  let login: LoginClient;
  const base = (t: TestApp) => `http://127.0.0.1:${t.config.port}`;
  /** Request i goes to instance i mod n, as a round-robin load balancer sends them. */
  const spread = (i: number) => instances[i % instances.length] as TestApp;
  /** Posts a signed response to a connection's ACS (on instance A unless told). */
  const postAcs = (c: SamlConnectionFixture, xml: string, via: TestApp = a) =>
    via
      .http()
      .post(`/saml/${c.slug}/acs`)
      .type('form')
      .send({ SAMLResponse: Buffer.from(xml).toString('base64') });
  /** Exactly one answer has the winner's status; every other one is a 400 with the given reason. */
  const oneWinner = (answers: request.Response[], status: number, lost: RegExp) => {
    const won = answers.filter((x) => x.status === status);
    expect(won).toHaveLength(1);
    for (const x of answers.filter((y) => y.status !== status)) {
      expect(x.status).toBe(400);
      expect(reasonOf(x.text)).toMatch(lost);
    }
    return won[0] as request.Response;
  };

  beforeAll(async () => {
    a = await startTestApp(kind, {}, undefined, { listen: true });
    if (kind === 'postgres') {
      b = await startTestApp(
        'embedded',
        { DATABASE_URL: a.config.databaseUrl as string, BASE_URL: a.config.baseUrl },
        undefined,
        { listen: true },
      );
      instances = [a, b];
    } else {
      instances = [a];
    }
    saml = await createTestConnection(a, `race-${kind}`);
    client = (
      await a.admin
        .post('/api/v1/clients')
        .send({ name: 'Race app', redirectUris: [REDIRECT], accessTokenFormat: 'opaque' })
        .expect(201)
    ).body as { clientId: string; clientSecret: string };
    login = new LoginClient({
      publicBase: a.config.baseUrl,
      instances: () => [base(a)],
      connection: saml,
      client: { ...client, redirectUri: REDIRECT },
    });
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const tokenRequest = (i: number, body: Record<string, string>) =>
    fetch(`${base(spread(i))}/oidc/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams(body).toString(),
    }).then(async (res) => ({
      status: res.status,
      body: (await res.json()) as Record<string, string>,
    }));

  const introspect = async (token: string) => {
    const res = await fetch(`${base(a)}/oidc/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }).toString(),
    });
    return ((await res.json()) as { active: boolean }).active;
  };

  const replays = async () =>
    Number(
      (
        await a.app
          .get(DataSource)
          .query(`SELECT count(*) AS n FROM audit_events WHERE type = 'oidc.replay_refused'`)
      )[0].n,
    );

  /** A fresh code for the signed-in browser (SSO: no IdP trip), with its PKCE verifier. */
  let browser: Awaited<ReturnType<LoginClient['login']>>['browser'];
  const freshCode = async () => {
    browser ??= (await login.login('race-0001', 'race@example.com', noEvidence())).browser;
    // offline_access (granted on prompt=consent): a refresh token with every code.
    const { callback, verifier } = await login.mintCode(browser, {
      scope: 'openid email offline_access',
      prompt: 'consent',
    });
    return { code: callback.searchParams.get('code') as string, verifier };
  };

  it.each(CONCURRENCY)(
    'an authorization code redeemed %i times at once gives one set of tokens, then none',
    async (n) => {
      for (let trial = 0; trial < TRIALS; trial++) {
        const { code, verifier } = await freshCode();
        const before = await replays();
        const answers = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            tokenRequest(i, {
              grant_type: 'authorization_code',
              code,
              code_verifier: verifier,
              redirect_uri: REDIRECT,
            }),
          ),
        );
        const won = answers.filter((x) => x.status === 200);
        const lost = answers.filter((x) => x.status !== 200);
        expect(won).toHaveLength(1);
        for (const x of lost) {
          expect(x.status).toBe(400);
          expect(x.body.error).toBe('invalid_grant');
        }
        // A replay revokes what the code issued: the winner's refresh token and access token are dead.
        const winner = won[0]?.body as Record<string, string>;
        expect(winner.refresh_token).toEqual(expect.any(String));
        expect(await introspect(need(winner.access_token))).toBe(false);
        const refreshed = await tokenRequest(0, {
          grant_type: 'refresh_token',
          refresh_token: need(winner.refresh_token),
        });
        expect(refreshed.status).toBe(400);
        expect(refreshed.body.error).toBe('invalid_grant');
        // Every refused redemption is audited (concurrent losers and later ones alike).
        // Every refused redemption that found the code is audited; those that came after the revocation
        // removed it find no code at all (invalid_grant too, like any unknown code).
        expect((await replays()) - before).toBeGreaterThanOrEqual(1);
      }
    },
    120_000,
  );

  it.each(CONCURRENCY)(
    'a refresh token used %i times at once is a reuse: one answer, then the grant is revoked',
    async (n) => {
      for (let trial = 0; trial < TRIALS; trial++) {
        const { code, verifier } = await freshCode();
        const issued = await tokenRequest(0, {
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: REDIRECT,
        });
        expect(issued.status).toBe(200);
        expect(issued.body.refresh_token).toEqual(expect.any(String));
        const answers = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            tokenRequest(i, { grant_type: 'refresh_token', refresh_token: need(issued.body.refresh_token) }),
          ),
        );
        const won = answers.filter((x) => x.status === 200);
        expect(won).toHaveLength(1);
        for (const x of answers.filter((y) => y.status !== 200)) {
          expect(x.status).toBe(400);
          expect(x.body.error).toBe('invalid_grant');
        }
        const winner = won[0]?.body as Record<string, string>;
        expect(await introspect(need(winner.access_token))).toBe(false);
        const next = await tokenRequest(1, {
          grant_type: 'refresh_token',
          refresh_token: need(winner.refresh_token),
        });
        expect(next.body.error).toBe('invalid_grant');
      }
    },
    120_000,
  );

  it('a sequential reuse still revokes, and both kinds of replay are counted', async () => {
    const { code, verifier } = await freshCode();
    const body = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT };
    const first = await tokenRequest(0, body);
    expect(first.status).toBe(200);
    const again = await tokenRequest(1, body);
    expect(again.body.error).toBe('invalid_grant');
    expect(await introspect(need(first.body.access_token))).toBe(false);
    // Counted where each was refused: summed over the instances, as a metrics backend would.
    const counted = async (artefact: string, timing: string) => {
      let sum = 0;
      for (const t of instances) {
        const text = (await t.http().get('/metrics').expect(200)).text;
        const line = new RegExp(
          `^bridge_single_use_replays_total\\{artefact="${artefact}",timing="${timing}"\\} (\\d+)$`,
          'm',
        ).exec(text);
        sum += Number(line?.[1] ?? 0);
      }
      return sum;
    };
    expect(await counted('authorization_code', 'sequential')).toBeGreaterThanOrEqual(1);
    // The racing losers above were counted too: as concurrent when they lost in the database, as
    // sequential when they read the artefact after the winner had used it (which one depends on timing).
    for (const artefact of ['authorization_code', 'refresh_token']) {
      expect(
        (await counted(artefact, 'concurrent')) + (await counted(artefact, 'sequential')),
      ).toBeGreaterThanOrEqual(2);
    }
  });

  it.each(CONCURRENCY)(
    'one SAML response posted %i times at once to the ACS is accepted once',
    async (n) => {
      for (let trial = 0; trial < TRIALS; trial++) {
        const { requestId } = await startLogin(a, saml.slug);
        const xml = saml.idp.responseXml({
          spEntityId: saml.spEntityId,
          acsUrl: saml.acsUrl,
          inResponseTo: requestId,
          nameId: 'race-acs',
          attributes: { email: 'race-acs@example.com' },
        }) as string;
        const answers = await Promise.all(Array.from({ length: n }, (_, i) => postAcs(saml, xml, spread(i))));
        oneWinner(answers, 303, /^saml_(in_response_to_unknown|replay)$/);
      }
    },
    120_000,
  );

  it.each(CONCURRENCY)(
    'a login completion (the continue step after the ACS) taken %i times at once finishes one login',
    async (n) => {
      for (let trial = 0; trial < TRIALS; trial++) {
        const started = await startLogin(a, saml.slug, '/done');
        const xml = saml.idp.responseXml({
          spEntityId: saml.spEntityId,
          acsUrl: saml.acsUrl,
          inResponseTo: started.requestId,
          nameId: 'race-continue',
          attributes: { email: 'race-continue@example.com' },
        }) as string;
        const acs = await postAcs(saml, xml).expect(303);
        const location = acs.headers.location as string;
        const answers = await Promise.all(
          Array.from({ length: n }, (_, i) => {
            const get = spread(i).http().get(location);
            return started.browser ? get.set('Cookie', started.browser) : get;
          }),
        );
        expect(oneWinner(answers, 303, /^saml_login_not_found$/).headers.location).toBe('/done');
      }
    },
    120_000,
  );

  it.each(CONCURRENCY)(
    'a LogoutResponse delivered %i times at once answers our LogoutRequest once',
    async (n) => {
      for (let trial = 0; trial < TRIALS; trial++) {
        const started = await startLogin(a, saml.slug, '/in');
        const xml = saml.idp.responseXml({
          spEntityId: saml.spEntityId,
          acsUrl: saml.acsUrl,
          inResponseTo: started.requestId,
          nameId: `race-slo-${n}-${trial}`,
          sessionIndex: `idx-${n}-${trial}`,
          attributes: { email: 'race-slo@example.com' },
        }) as string;
        const acs = await postAcs(saml, xml).expect(303);
        const cont = await a
          .http()
          .get(acs.headers.location as string)
          .set('Cookie', started.browser as string)
          .expect(303);
        const session = (cont.headers['set-cookie'] as unknown as string[])
          .find((c) => c.startsWith('bridge_session='))
          ?.split(';')[0] as string;
        const start = await a
          .http()
          .get(`/saml/${saml.slug}/logout?returnTo=/bye`)
          .set('Cookie', session)
          .expect(303);
        const url = new URL(start.headers.location as string);
        const request = Buffer.from(url.searchParams.get('SAMLRequest') as string, 'base64');
        const { inflateRawSync } = await import('node:zlib');
        const id = /ID="([^"]+)"/.exec(inflateRawSync(request).toString())?.[1] as string;
        const query = saml.idp.redirectBindingQuery(
          'SAMLResponse',
          saml.idp.logoutResponseXml({ destination: saml.sloUrl, inResponseTo: id }),
          url.searchParams.get('RelayState') ?? undefined,
          { sign: true },
        );
        const answers = await Promise.all(
          Array.from({ length: n }, (_, i) => spread(i).http().get(`/saml/${saml.slug}/slo?${query}`)),
        );
        expect(oneWinner(answers, 303, /^saml_in_response_to_unknown$/).headers.location).toBe('/bye');
      }
    },
    120_000,
  );

  it.each(CONCURRENCY)(
    "an admin's console SSO sign-in code taken %i times at once opens one console session",
    async (n) => {
      const corp = await createTestConnection(a, `race-corp-${kind}-${n}`, {
        options: { adminGroups: ['bridge-admins'] },
      });
      for (let trial = 0; trial < TRIALS; trial++) {
        const started = await a
          .http()
          .post('/admin/sso/start')
          .set('Origin', new URL(a.config.baseUrl).origin)
          .type('form')
          .send({ connection: corp.slug, next: '/admin/users' })
          .expect(303);
        const url = new URL(started.headers.location as string);
        const { inflateRawSync } = await import('node:zlib');
        const requestXml = inflateRawSync(
          Buffer.from(url.searchParams.get('SAMLRequest') as string, 'base64'),
        ).toString();
        const browser = (started.headers['set-cookie'] as unknown as string[])
          .find((c) => c.startsWith('bridge_browser='))
          ?.split(';')[0] as string;
        const xml = corp.idp.responseXml({
          spEntityId: corp.spEntityId,
          acsUrl: corp.acsUrl,
          inResponseTo: /ID="([^"]+)"/.exec(requestXml)?.[1],
          nameId: 'race-root',
          attributes: { email: 'race-root@example.com', groups: ['bridge-admins'] },
        }) as string;
        const acs = await postAcs(corp, xml).expect(303);
        const location = acs.headers.location as string;
        expect(location).toMatch(/^\/admin\/sso\/continue\?/);
        const answers = await Promise.all(
          Array.from({ length: n }, (_, i) => spread(i).http().get(location).set('Cookie', browser)),
        );
        const won = oneWinner(answers, 200, /^saml_login_not_found$/);
        expect(String(won.headers['set-cookie'])).toMatch(/(^|,)admin_console=/);
      }
    },
    120_000,
  );
});
