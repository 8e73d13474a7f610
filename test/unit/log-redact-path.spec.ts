import { redactPath } from '../../src/logging/logger';

describe('redactPath', () => {
  it('replaces a setup link token in a path, whatever it looks like', () => {
    const token = `sbl_${'a'.repeat(43)}`;
    expect(redactPath(`/setup/${token}`)).toBe('/setup/[redacted]');
    expect(redactPath('/setup/not-even-a-token')).toBe('/setup/[redacted]');
    expect(redactPath(`/setup/${token}/more`)).toBe('/setup/[redacted]/…');
  });

  it('keeps the setup pages’ own paths and every other path', () => {
    for (const path of ['/setup', '/setup/metadata', '/setup/test-login', '/setup/sp-certificate.pem']) {
      expect(redactPath(path)).toBe(path);
    }
    expect(redactPath('/saml/acme/acs')).toBe('/saml/acme/acs');
    expect(redactPath('/admin/setup/x')).toBe('/admin/setup/x');
  });
});
