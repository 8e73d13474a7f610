import { inflateRawSync } from 'node:zlib';
import request from 'supertest';
import { OidcProviderHost } from '../../src/oidc/oidc-provider.host';
import { createTestConnection } from '../support/saml-flow';
import { postgresAvailable, startTestApp, TestApp } from '../support/test-app';

type OidcClient = typeof import('openid-client');
const REDIRECT = 'https://app.example.com/callback';

/** Several bridge instances on one PostgreSQL behave as one (clients, codes, sessions, keys live in the database). */
(postgresAvailable() ? describe : describe.skip)(
  'OpenID Provider on two instances sharing PostgreSQL',
  () => {
    let a: TestApp;
    let b: TestApp;
    let oc: OidcClient;

    beforeAll(async () => {
      oc = await import('openid-client');
      a = await startTestApp('postgres', {}, undefined, { listen: true });
      // B shares A's database and issuer (as behind one load balancer).
      b = await startTestApp('embedded', {
        DATABASE_URL: a.config.databaseUrl as string,
        BASE_URL: a.config.baseUrl,
        ISSUER: a.config.issuer,
      });
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
    });

    it('starts a login on A, finishes the SAML login on B, and exchanges the code on B', async () => {
      const saml = await createTestConnection(a, 'multi-co');
      const app = (
        await a.admin
          .post('/api/v1/clients')
          .send({ name: 'Multi', redirectUris: [REDIRECT] })
          .expect(201)
      ).body;
      const config = await oc.discovery(new URL(a.config.issuer), app.clientId, app.clientSecret, undefined, {
        execute: [oc.allowInsecureRequests],
      });
      const verifier = oc.randomPKCECodeVerifier();
      const url = oc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid email',
        code_challenge: await oc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: 'm',
        connection: saml.slug,
      });
      // One browser, whose requests the load balancer spreads over A and B.
      const servers = { a: a.app.getHttpServer(), b: b.app.getHttpServer() };
      const cookies: string[] = [];
      const remember = (res: request.Response) => {
        for (const c of (res.headers['set-cookie'] as unknown as string[] | undefined) ?? []) {
          const [pair] = c.split(';');
          const name = pair.split('=')[0];
          const i = cookies.findIndex((x) => x.startsWith(`${name}=`));
          if (i >= 0) cookies.splice(i, 1);
          if (!/=;|=$/.test(pair)) cookies.push(pair);
        }
        return res;
      };
      const get = async (which: 'a' | 'b', location: string) => {
        const u = new URL(location, a.config.baseUrl);
        return remember(
          await request(servers[which])
            .get(u.pathname + u.search)
            .set('Cookie', cookies.join('; ')),
        );
      };
      let res = await get('a', url.pathname + url.search);
      res = await get('b', res.headers.location);
      const idpUrl = new URL(res.headers.location);
      const id = /ID="([^"]+)"/.exec(
        inflateRawSync(Buffer.from(idpUrl.searchParams.get('SAMLRequest') as string, 'base64')).toString(),
      )?.[1];
      const xml = saml.idp.responseXml({
        spEntityId: saml.spEntityId,
        acsUrl: saml.acsUrl,
        inResponseTo: id,
        nameId: 'multi-0001',
        attributes: { email: 'm@example.com' },
      }) as string;
      res = remember(
        await request(servers.b)
          .post(`/saml/${saml.slug}/acs`)
          .set('Cookie', cookies.join('; '))
          .type('form')
          .send({ SAMLResponse: Buffer.from(xml).toString('base64') }),
      );
      for (let hop = 0, at: 'a' | 'b' = 'a'; hop < 10 && !res.headers.location.startsWith(REDIRECT); hop++) {
        res = await get(at, res.headers.location);
        at = at === 'a' ? 'b' : 'a';
      }
      expect(res.headers.location.startsWith(`${REDIRECT}?code=`)).toBe(true);
      const configB = await oc.discovery(
        new URL(b.config.issuer),
        app.clientId,
        app.clientSecret,
        undefined,
        {
          execute: [oc.allowInsecureRequests],
        },
      );
      const tokens = await oc.authorizationCodeGrant(configB, new URL(res.headers.location), {
        pkceCodeVerifier: verifier,
        expectedState: 'm',
      });
      expect(tokens.claims()?.email).toBe('m@example.com');
      // The same code cannot be used again on A.
      await expect(
        oc.authorizationCodeGrant(config, new URL(res.headers.location), {
          pkceCodeVerifier: verifier,
          expectedState: 'm',
        }),
      ).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('a key rotation on A is served by B (after its refresh bound)', async () => {
      await a.admin.post('/api/v1/keys/rotate').expect(200);
      const keys = (await a.admin.get('/api/v1/keys').expect(200)).body.items as Array<{
        kid: string;
        status: string;
      }>;
      const host = b.app.get(OidcProviderHost);
      await host.current(true);
      const jwks = (await b.http().get('/oidc/jwks').expect(200)).body.keys as Array<{ kid: string }>;
      for (const k of keys.filter((x) => x.status !== 'retired' || true))
        expect(jwks.map((j) => j.kid)).toContain(k.kid);
    });
  },
);
