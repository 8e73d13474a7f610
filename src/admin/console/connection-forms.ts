import { decodeXmlBytes, XmlSafetyError } from '../../common/xml-safety';
import type { ConnectionEntity } from '../../connections/connection.entity';
import { CreateConnectionDto, UpdateConnectionDto } from '../../connections/dto/connection.dto';
import type { FieldErrors } from '../../web/components/fields';
import { CreateSetupLinkDto } from '../setup-links/setup-link.dto';
import {
  formFlag,
  formInt,
  formJson,
  formList,
  formText,
  validateForm,
  type FormBody,
} from './console-forms';

/**
 * The connections pages' forms: what each posted form means as a service DTO (validated with the API's
 * rules), and the values to show again when it is refused. No HTML here (views/connections/).
 */

/** The messages of `?notice=…` after a redirect to a connections page. */
export const CONNECTION_NOTICES: Readonly<Record<string, string>> = {
  created: 'Connection created. Give the customer the details below.',
  saved: 'Changes saved.',
  metadata: 'Metadata replaced.',
  refreshed: 'Metadata refreshed from its URL.',
  'refresh-failed': 'The metadata refresh failed; the last good metadata stays in use (see the error below).',
  deleted: 'Connection deleted.',
  'sp-next':
    'Next SP key created: it is in the SP metadata now. Ask the customer to refresh it at their IdP, then promote it.',
  'sp-promoted': 'The next SP key is now current; the previous one still decrypts for 24 hours.',
  'link-revoked': 'Setup link revoked: it no longer opens, and pages already open refuse every action.',
  'scim-token-revoked': 'SCIM token revoked: the directory gets 401 with it from now on.',
};

/** What the admin typed, by field name, to fill a refused form again. */
export interface ConnectionFormValues {
  [field: string]: string | undefined;
}

/** The posted fields as text (the last of repeated ones), without the CSRF token. */
export function bodyValues(body: FormBody): ConnectionFormValues {
  const out: ConnectionFormValues = {};
  for (const [k, v] of Object.entries(body ?? {})) {
    if (k === '_csrf') continue;
    out[k] = Array.isArray(v) ? String(v[v.length - 1]) : typeof v === 'string' ? v : undefined;
  }
  return out;
}

/** Service errors about the metadata are shown on the metadata fieldset. */
export function metadataField(code: string): string | undefined {
  return code.startsWith('metadata_') ? 'metadata' : undefined;
}

/** The "add a connection" form (multipart: the metadata may come as a file). */
export async function parseCreateForm(
  body: FormBody,
  file: { buffer: Buffer } | undefined,
): Promise<{ values: ConnectionFormValues; dto: CreateConnectionDto; errors: FieldErrors }> {
  const values: ConnectionFormValues = {
    name: formText(body, 'name', 200),
    slug: formText(body, 'slug', 64),
    preset: formText(body, 'preset', 20),
    domains: formText(body, 'domains', 10_000),
    metadataUrl: formText(body, 'metadataUrl', 2048),
    metadataXml: formText(body, 'metadataXml'),
    metadataEntityId: formText(body, 'metadataEntityId', 1024),
  };
  const errors: FieldErrors = {};
  let metadataXml = values.metadataXml;
  if (file && file.buffer.length > 0) {
    if (metadataXml || values.metadataUrl) {
      errors.metadata = 'Give the metadata one way only: a file, pasted XML or a URL.';
    } else {
      try {
        metadataXml = decodeXmlBytes(file.buffer);
      } catch (err) {
        if (!(err instanceof XmlSafetyError)) throw err;
        errors.metadata = 'The uploaded file is not UTF-8 or UTF-16 text: upload the XML metadata document.';
      }
    }
  }
  const { dto, errors: invalid } = await validateForm(CreateConnectionDto, {
    name: values.name ?? '',
    slug: values.slug ?? '',
    preset: values.preset,
    domains: formList(body, 'domains') ?? [],
    metadataXml,
    metadataUrl: values.metadataUrl,
    metadataEntityId: values.metadataEntityId,
  });
  Object.assign(errors, invalid);
  return { values, dto, errors };
}

/** The settings form of a connection. */
export async function parseUpdateForm(
  body: FormBody,
  entity: ConnectionEntity,
): Promise<{ dto: UpdateConnectionDto; errors: FieldErrors }> {
  const preset = formText(body, 'preset', 20);
  const presetChanged = preset !== undefined && preset !== entity.preset;
  const options: Record<string, unknown> = {
    requiredSignature: formText(body, 'requiredSignature', 20),
    signAuthnRequests: formFlag(body, 'signAuthnRequests'),
    clockSkewSeconds: formInt(body, 'clockSkewSeconds'),
    forceAuthn: formFlag(body, 'forceAuthn'),
    allowSha1: formFlag(body, 'allowSha1'),
    authnRequestBinding: formText(body, 'authnRequestBinding', 20),
    subjectSource: formText(body, 'subjectSource', 20),
    idpInitiatedTarget: formText(body, 'idpInitiatedTarget', 2048),
    adminGroups: formList(body, 'adminGroups') ?? [],
    acrMap: formJson(body, 'acrMap'),
  };
  if (presetChanged) {
    // A new preset brings its own defaults: only the options the admin changed on this form override them.
    const current = entity.options as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(options))
      if (JSON.stringify(v) === JSON.stringify(current[k])) delete options[k];
  }
  return validateForm(UpdateConnectionDto, {
    name: formText(body, 'name', 200) ?? '',
    enabled: formFlag(body, 'enabled'),
    allowIdpInitiated: formFlag(body, 'allowIdpInitiated'),
    domains: formList(body, 'domains') ?? [],
    preset,
    options,
  });
}

/** The "create a setup link" form. */
export function parseSetupLinkForm(
  body: FormBody,
): Promise<{ dto: CreateSetupLinkDto; errors: FieldErrors }> {
  return validateForm(CreateSetupLinkDto, {
    expiresInHours: formInt(body, 'expiresInHours'),
    note: formText(body, 'note', 500),
  });
}
