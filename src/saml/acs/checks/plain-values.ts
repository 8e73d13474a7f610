import type { Node } from 'xmldom-0.9';
import { elementsNamed, NODE, walk } from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { reject } from '../acs-message';

export const PLAIN_VALUE_REASONS = ['saml_comment_in_value'] as const;

const VALUE_ELEMENTS = ['NameID', 'AttributeValue', 'Issuer', 'Audience'];

/**
 * No comment, CDATA section or processing instruction inside NameID, attribute values, Issuer or Audience:
 * exclusive c14n drops comments, so `victim@dom<!---->.evil.test` is genuinely signed (comment injection,
 * CVE-2017-11427 family). Runs on the message as the IdP serialised it (decrypted in place), where the
 * comments still are, and again on the signed assertion.
 */
export function checkPlainValues(root: Node): void {
  for (const local of VALUE_ELEMENTS) {
    for (const el of elementsNamed(root, NS.assertion, local)) {
      walk(el, (n) => {
        if (
          n.nodeType === NODE.comment ||
          n.nodeType === NODE.cdata ||
          n.nodeType === NODE.processingInstruction
        ) {
          reject('saml_comment_in_value', `A comment or CDATA section inside <${local}> is not accepted.`, {
            element: local,
          });
        }
      });
    }
  }
}
