import type { Element } from 'xmldom-0.9';
import { childElement, nonEmptyAttribute, textOf } from '../../../common/xml-dom';
import { NS } from '../../saml-namespaces';
import { reject } from '../acs-message';

export const IDP_STATUS_REASONS = ['saml_idp_error_status'] as const;

const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** The IdP says Success; otherwise its (second-level) status code is what the user and the trace see. */
export function checkIdpStatus(root: Element): void {
  const status = childElement(root, NS.protocol, 'Status');
  const code = status && childElement(status, NS.protocol, 'StatusCode');
  const statusCode = nonEmptyAttribute(code, 'Value');
  if (statusCode === STATUS_SUCCESS) return;
  const second = nonEmptyAttribute(code && childElement(code, NS.protocol, 'StatusCode'), 'Value');
  reject(
    'saml_idp_error_status',
    `The identity provider reported an error (${(second ?? statusCode ?? 'no status').split(':').pop()}).`,
    {
      statusCode,
      subStatusCode: second,
      statusMessage: textOf(status && childElement(status, NS.protocol, 'StatusMessage')),
    },
  );
}
