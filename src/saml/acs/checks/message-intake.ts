import type { Document } from 'xmldom-0.9';
import { assertNoDoctype, parseXmlStrict, XmlSafetyError } from '../../../common/xml-safety';
import { SamlRejection } from '../../saml-rejection';

export const MESSAGE_INTAKE_REASONS = [
  'saml_doctype_forbidden',
  'saml_message_too_large',
  'saml_malformed_xml',
] as const;

/** Parses a decoded SAML message: no DOCTYPE (checked on the raw text first), strict, bounded. */
export function parseSamlXml(xml: string): Document {
  try {
    assertNoDoctype(xml);
    return parseXmlStrict(xml, { maxDepth: 48, maxNodes: 10_000 });
  } catch (err) {
    if (err instanceof XmlSafetyError) {
      if (err.code === 'doctype_forbidden') {
        throw new SamlRejection('saml_doctype_forbidden', 'SAML messages must not contain a DOCTYPE.');
      }
      if (err.code === 'too_large' || err.code === 'too_complex') {
        throw new SamlRejection(
          'saml_message_too_large',
          'The SAML message is too large or too deeply nested.',
        );
      }
      throw new SamlRejection('saml_malformed_xml', 'The SAML message is not well-formed XML.', {
        error: err.message,
      });
    }
    throw err;
  }
}
