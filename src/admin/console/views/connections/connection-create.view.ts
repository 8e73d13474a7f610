import {
  csrfField,
  type FieldErrors,
  selectField,
  textArea,
  textField,
} from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';
import { consoleLayout } from '../../../../web/layout';
import { PRESET_OPTIONS } from '../../../preset-labels';
import type { ConnectionFormValues } from '../../connection-forms';
import type { ConsoleSession } from '../../console-sessions.service';
import { connectionsChrome } from './connection-chrome';

/** The "add a connection" form: name, slug, preset, domains and the IdP metadata (file, paste or URL). */
export function connectionCreateView(input: {
  session: ConsoleSession;
  values: ConnectionFormValues;
  errors: FieldErrors;
  /** A refusal not tied to a field (it replaces the summary). */
  error?: string;
}): Html {
  const { values: v, errors } = input;
  const summary =
    input.error ??
    (Object.keys(errors).length ? 'The connection was not created: fix the fields marked below.' : undefined);
  return consoleLayout(
    connectionsChrome(input.session, { title: 'Add a connection', error: summary }),
    html`<form method="post" action="/admin/connections" enctype="multipart/form-data" class="main">${csrfField(
      input.session.csrfToken,
    )}${textField({
      name: 'name',
      label: 'Name',
      value: v.name,
      error: errors.name,
      required: true,
      hint: html`For example "Acme Corp (Entra ID)".`,
    })}${textField({
      name: 'slug',
      label: 'Slug',
      value: v.slug,
      error: errors.slug,
      required: true,
      hint: 'Lower-case letters, digits and hyphens. It is part of the URLs the customer enters at their IdP and cannot change later.',
    })}${selectField({
      name: 'preset',
      label: 'Identity provider',
      value: v.preset ?? 'generic',
      options: PRESET_OPTIONS,
      error: errors.preset,
      hint: 'Sets which signature the bridge requires and how attributes are read.',
    })}${textArea({
      name: 'domains',
      label: 'Verified email domains',
      value: v.domains,
      error: errors.domains,
      rows: 2,
      hint: 'One per line, e.g. acme.com. Emails in these domains are marked verified.',
    })}<fieldset id="metadata"><legend>IdP metadata (one of the three)</legend>${
      errors.metadata ? html`<p class="field-error" id="metadata-error">${errors.metadata}</p>` : ''
    }<div class="field"><label for="metadataFile">Upload the metadata file</label><input id="metadataFile" name="metadataFile" type="file" accept=".xml,application/xml,text/xml,application/samlmetadata+xml"></div>${textArea(
      { name: 'metadataXml', label: 'Or paste the metadata XML', value: v.metadataXml, rows: 5 },
    )}${textField({
      name: 'metadataUrl',
      label: 'Or the metadata URL',
      type: 'url',
      value: v.metadataUrl,
      error: errors.metadataUrl,
      hint: 'The bridge fetches it now and refreshes it on a schedule.',
    })}${textField({
      name: 'metadataEntityId',
      label: 'Entity ID inside an aggregate (optional)',
      value: v.metadataEntityId,
      error: errors.metadataEntityId,
    })}</fieldset><button type="submit">Create the connection</button></form>`,
  );
}
