import type { ConnectionEntity } from '../connections/connection.entity';
import { spDetails } from '../connections/connection.view';
import { SAML_BINDINGS } from '../connections/metadata/idp-metadata.parser';
import type { SpKeyRing } from '../keys/sp-keys.service';

const ENCRYPTION_METHODS = [
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
];
const NAMEID_FORMATS = [
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
];

function xmlEscape(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );
}

function certBody(pem: string): string {
  return pem.replace(/-----[^-]+-----|\s/g, '');
}

function keyDescriptor(use: 'signing' | 'encryption', pem: string): string {
  const methods =
    use === 'encryption'
      ? ENCRYPTION_METHODS.map((m) => `\n      <md:EncryptionMethod Algorithm="${m}"/>`).join('')
      : '';
  return `
    <md:KeyDescriptor use="${use}">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>${methods}
    </md:KeyDescriptor>`;
}

/**
 * The SP metadata the customer's IdP imports: entityID, ACS (HTTP-POST), SLO (Redirect and POST), the
 * current SP certificate for signing and encryption, and during a rollover the next one as well.
 */
export function buildSpMetadata(connection: ConnectionEntity, baseUrl: string, ring: SpKeyRing): string {
  const sp = spDetails(baseUrl, connection);
  const published = [ring.current, ...(ring.next ? [ring.next] : [])];
  const authnRequestsSigned = connection.options.signAuthnRequests || connection.idp.wantAuthnRequestsSigned;
  const wantAssertionsSigned = ['assertion', 'both'].includes(connection.options.requiredSignature);
  const formats = connection.options.nameIdFormat
    ? [
        connection.options.nameIdFormat,
        ...NAMEID_FORMATS.filter((f) => f !== connection.options.nameIdFormat),
      ]
    : NAMEID_FORMATS;
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${xmlEscape(sp.entityId)}">
  <md:SPSSODescriptor AuthnRequestsSigned="${authnRequestsSigned}" WantAssertionsSigned="${wantAssertionsSigned}" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${published
    .map((k) => keyDescriptor('signing', k.certificatePem))
    .join('')}${published.map((k) => keyDescriptor('encryption', k.certificatePem)).join('')}
    <md:SingleLogoutService Binding="${SAML_BINDINGS.redirect}" Location="${xmlEscape(sp.sloUrl)}"/>
    <md:SingleLogoutService Binding="${SAML_BINDINGS.post}" Location="${xmlEscape(sp.sloUrl)}"/>
${formats.map((f) => `    <md:NameIDFormat>${xmlEscape(f)}</md:NameIDFormat>`).join('\n')}
    <md:AssertionConsumerService Binding="${SAML_BINDINGS.post}" Location="${xmlEscape(sp.acsUrl)}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
`;
}
