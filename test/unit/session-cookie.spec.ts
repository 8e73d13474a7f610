import { browserCookieName, sessionCookieName } from '../../src/saml/session-cookie';

describe('bridge cookies', () => {
  it('use the strictest prefix the deployment allows', () => {
    expect(sessionCookieName({ baseUrl: 'http://localhost:3000' })).toBe('bridge_session');
    expect(sessionCookieName({ baseUrl: 'https://sso.example.com' })).toBe('__Host-bridge_session');
    expect(sessionCookieName({ baseUrl: 'https://sso.example.com', cookieDomain: 'example.com' })).toBe(
      '__Secure-bridge_session',
    );
    expect(browserCookieName({ baseUrl: 'https://sso.example.com' })).toBe('__Host-bridge_browser');
  });
});
