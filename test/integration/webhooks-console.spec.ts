import type request from 'supertest';
import { HttpReceiver } from '../support/http-receiver';
import { createTestConnection } from '../support/saml-flow';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from '../support/test-app';

/** Webhooks in the console (embedded database): add an endpoint, send a test event, read the events. */
const ORIGIN = 'http://bridge.test';

function consoleCookie(res: request.Response): string {
  const set = res.headers['set-cookie'] as unknown as string[];
  return (set.find((c) => c.startsWith('admin_console=')) as string).split(';')[0] as string;
}

describe('webhooks in the console (embedded database)', () => {
  let t: TestApp;
  const receiver = new HttpReceiver();
  receiver.status = 204;
  const received = () =>
    receiver.requests.map((r) => ({
      id: String(r.headers['webhook-id']),
      type: (JSON.parse(r.body) as { type: string }).type,
    }));

  beforeAll(async () => {
    t = await startTestApp('embedded');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('adds an endpoint (secret once, escaped), sends a test event, shows deliveries and events', async () => {
    const signIn = await t
      .http()
      .post('/admin/sign-in')
      .set('Origin', ORIGIN)
      .type('form')
      .send({ key: TEST_ADMIN_KEY, next: '/admin/webhooks' })
      .expect(303);
    const cookie = consoleCookie(signIn);
    const page = await t.http().get('/admin/webhooks').set('Cookie', cookie).expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] as string;
    const post = (path: string, form: Record<string, string>) =>
      t
        .http()
        .post(path)
        .set('Origin', ORIGIN)
        .set('Cookie', cookie)
        .type('form')
        .send({ _csrf: csrf, ...form });
    const refused = await post('/admin/webhooks', { url: 'http://169.254.169.254/x', events: '*' }).expect(
      400,
    );
    expect(refused.text).toContain('The endpoint was not added');
    const url = await receiver.start('/hook');
    const created = await post('/admin/webhooks', {
      url,
      events: '*',
      description: '<img src=x onerror=alert(1)>',
    }).expect(201);
    expect(created.text).toMatch(/<code id="webhook-secret">whsec_[A-Za-z0-9+/=]+<\/code>/);
    const id = /href="\/admin\/webhooks\/([0-9a-f-]{36})"/.exec(created.text)?.[1] as string;
    const details = await t.http().get(`/admin/webhooks/${id}`).set('Cookie', cookie).expect(200);
    expect(details.text).not.toContain('<img src=x');
    expect(details.text).not.toContain('whsec_');
    const queued = await post(`/admin/webhooks/${id}/test`, {}).expect(303);
    expect(queued.headers.location).toBe(`/admin/webhooks/${id}?notice=test#deliveries`);
    for (let i = 0; i < 100 && !received().some((r) => r.type === 'webhook.test'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(received().find((r) => r.type === 'webhook.test')?.id).toMatch(/^evt_\d+$/);
    for (let i = 0; i < 50; i++) {
      const again = await t.http().get(`/admin/webhooks/${id}`).set('Cookie', cookie).expect(200);
      if (again.text.includes('badge ok">delivered')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await t.http().get(`/admin/webhooks/${id}`).set('Cookie', cookie).expect(200)).text).toContain(
      'badge ok">delivered',
    );
    // The connections list links warnings to their events; the events page filters by connection.
    const c = await createTestConnection(t, 'evcon');
    const events = await t
      .http()
      .get(`/admin/events?connection=${c.id}&types=connection.created`)
      .set('Cookie', cookie)
      .expect(200);
    expect(events.text).toContain('<code>connection.created</code>');
    expect(events.text).toContain('evcon');
  });
});
