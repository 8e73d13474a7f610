import { certificateView, spDetails, urlsByBinding } from '../../src/connections/connection.view';
import type { IdpCertificate } from '../../src/connections/metadata/idp-metadata.parser';

const cert = (notAfter: string): IdpCertificate => ({
  pem: '',
  fingerprintSha256: 'AA',
  subject: 'CN=x',
  issuer: 'CN=x',
  notBefore: '2020-01-01T00:00:00.000Z',
  notAfter,
  serialNumber: '01',
  use: 'signing',
});

describe('connection view', () => {
  const now = new Date('2026-11-23T00:00:00Z');
  it('flags certificates that expire within 30 days, and expired ones', () => {
    expect(certificateView(cert('2026-12-10T00:00:00Z'), now)).toMatchObject({
      expiresSoon: true,
      expired: false,
      daysLeft: 17,
    });
    expect(certificateView(cert('2027-06-01T00:00:00Z'), now)).toMatchObject({
      expiresSoon: false,
      expired: false,
    });
    expect(certificateView(cert('2026-11-16T00:00:00Z'), now)).toMatchObject({
      expiresSoon: false,
      expired: true,
    });
  });

  it('names SSO URLs by binding and builds the SP endpoints, with legacy overrides', () => {
    expect(
      urlsByBinding([
        { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', location: 'https://idp/r' },
        { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', location: 'https://idp/r2' },
        { binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', location: 'https://idp/p' },
      ]),
    ).toEqual({ 'HTTP-Redirect': 'https://idp/r', 'HTTP-POST': 'https://idp/p' });
    expect(spDetails('https://b.example', { slug: 'acme' })).toEqual({
      entityId: 'https://b.example/saml/acme/metadata',
      acsUrl: 'https://b.example/saml/acme/acs',
      sloUrl: 'https://b.example/saml/acme/slo',
      metadataUrl: 'https://b.example/saml/acme/metadata',
    });
    expect(
      spDetails('https://b.example', {
        slug: 'acme',
        options: { spEntityId: 'urn:old', acsUrl: 'https://old/acs' },
      }),
    ).toMatchObject({
      entityId: 'urn:old',
      acsUrl: 'https://old/acs',
    });
  });
});
