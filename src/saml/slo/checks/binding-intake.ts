import { inflateRawSync } from 'node:zlib';
import { SamlRejection } from '../../saml-rejection';
import { decodeSamlBytes, MAX_SAML_MESSAGE_BYTES } from '../../saml.service';
import type { SloField } from '../slo-message';

export const BINDING_INTAKE_REASONS = [
  'saml_message_missing',
  'saml_message_too_large',
  'saml_malformed_xml',
  'saml_logout_invalid',
] as const;

/** The raw query parameters of a Redirect-binding message, exactly as received (for signature checks). */
export function rawQueryParams(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (params.has(key))
      throw new SamlRejection('saml_logout_invalid', `The parameter ${key} appears twice.`);
    params.set(key, eq < 0 ? '' : part.slice(eq + 1));
  }
  return params;
}

/** decodeURIComponent that answers malformed escapes with a rejection instead of a URIError. */
export function safeDecode(value: string, plusIsSpace = false): string {
  try {
    return decodeURIComponent(plusIsSpace ? value.replace(/\+/g, ' ') : value);
  } catch {
    throw new SamlRejection('saml_logout_invalid', 'A query parameter is not correctly URL-encoded.');
  }
}

/** Inflates a Redirect-binding message with a hard cap on the output (DEFLATE bombs). */
export function inflateBounded(base64: string): string {
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(Buffer.from(safeDecode(base64), 'base64'), {
      maxOutputLength: MAX_SAML_MESSAGE_BYTES,
    });
  } catch (err) {
    if (err instanceof RangeError || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new SamlRejection(
        'saml_message_too_large',
        'The SAML message inflates to more than is accepted.',
      );
    }
    if (err instanceof SamlRejection) throw err;
    throw new SamlRejection('saml_malformed_xml', 'The SAML message is not valid URL-encoded DEFLATE data.');
  }
  return decodeSamlBytes(inflated);
}

/** HTTP-Redirect: one SAMLRequest or SAMLResponse, DEFLATE-bounded; the parameters kept as received. */
export function readRedirectBinding(rawQuery: string): {
  field: SloField;
  xml: string;
  relayState?: string;
  params: Map<string, string>;
} {
  const params = rawQueryParams(rawQuery);
  const field: SloField = params.has('SAMLRequest') ? 'SAMLRequest' : 'SAMLResponse';
  const encoded = params.get(field);
  if (!encoded)
    throw new SamlRejection('saml_message_missing', 'The request carries no SAMLRequest or SAMLResponse.');
  if (encoded.length > MAX_SAML_MESSAGE_BYTES)
    throw new SamlRejection('saml_message_too_large', 'The SAML message is too large.');
  const relayState = params.get('RelayState');
  return {
    field,
    xml: inflateBounded(encoded),
    relayState: relayState === undefined ? undefined : safeDecode(relayState, true),
    params,
  };
}

/** HTTP-POST: one base64 SAMLRequest or SAMLResponse field, size-bounded. */
export function readPostBinding(body: Record<string, unknown>): {
  field: SloField;
  xml: string;
  relayState?: string;
} {
  const field: SloField = typeof body.SAMLRequest === 'string' ? 'SAMLRequest' : 'SAMLResponse';
  const encoded = body[field];
  if (typeof encoded !== 'string' || !encoded)
    throw new SamlRejection('saml_message_missing', 'The request carries no SAML message.');
  if (encoded.length > (MAX_SAML_MESSAGE_BYTES * 4) / 3 + 1024)
    throw new SamlRejection('saml_message_too_large', 'The SAML message is too large.');
  return {
    field,
    xml: decodeSamlBytes(Buffer.from(encoded, 'base64')),
    relayState: typeof body.RelayState === 'string' ? body.RelayState : undefined,
  };
}
