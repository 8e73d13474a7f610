import { acrMapOf } from '../../../../connections/connection-presets';
import { type ConnectionEntity, SIGNATURE_REQUIREMENTS } from '../../../../connections/connection.entity';
import type { ConnectionView } from '../../../../connections/connection.view';
import {
  checkbox,
  csrfField,
  type FieldErrors,
  selectField,
  textArea,
  textField,
} from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';
import { PRESET_OPTIONS } from '../../../preset-labels';
import type { ConnectionFormValues } from '../../connection-forms';

/** The connection's settings form: what the admin typed when it was refused, else the stored values. */
export function settingsSection(input: {
  base: string;
  csrf: string;
  entity: ConnectionEntity;
  c: ConnectionView;
  values: ConnectionFormValues;
  errors: FieldErrors;
}): Html {
  const { c, values, errors } = input;
  const options = input.entity.options;
  const val = (name: string, current: string | number | boolean | undefined | null) =>
    values[name] !== undefined
      ? values[name]
      : current === undefined || current === null
        ? ''
        : String(current);
  const flag = (name: string, current: boolean) =>
    values[name] !== undefined ? values[name] === 'true' : current;
  return html`<h2 id="settings">Settings</h2><form method="post" action="${input.base}" class="main">${csrfField(input.csrf)}${textField(
    { name: 'name', label: 'Name', value: val('name', c.name), error: errors.name, required: true },
  )}${checkbox({ name: 'enabled', label: 'Enabled (logins allowed)', checked: flag('enabled', c.enabled) })}${textArea(
    {
      name: 'domains',
      label: 'Verified email domains',
      value: values.domains ?? c.domains.join('\n'),
      error: errors.domains,
      rows: 2,
      hint: 'One per line.',
    },
  )}${selectField({
    name: 'preset',
    label: 'Identity provider preset',
    value: val('preset', c.preset),
    options: PRESET_OPTIONS,
    error: errors.preset,
    hint: html`Changing it resets the signature policy to the new preset's defaults (options you change here still apply).`,
  })}${selectField({
    name: 'requiredSignature',
    label: 'Required signature',
    value: val('requiredSignature', options.requiredSignature),
    options: SIGNATURE_REQUIREMENTS.map((r) => [
      r,
      r === 'either' ? 'response or assertion' : r === 'both' ? 'response and assertion' : r,
    ]),
    error: errors.requiredSignature,
  })}${checkbox({
    name: 'signAuthnRequests',
    label: 'Sign AuthnRequests',
    checked: flag('signAuthnRequests', options.signAuthnRequests),
  })}${textField({
    name: 'clockSkewSeconds',
    label: 'Accepted clock skew (seconds)',
    type: 'number',
    value: val('clockSkewSeconds', options.clockSkewSeconds),
    error: errors.clockSkewSeconds,
    attrs: html` min="0" max="600"`,
  })}${checkbox({
    name: 'forceAuthn',
    label: 'Ask the IdP to re-authenticate on every login',
    checked: flag('forceAuthn', options.forceAuthn),
  })}${textArea({
    name: 'acrMap',
    label: 'Step-up: OIDC acr values → SAML authentication context classes (JSON)',
    value: values.acrMap ?? JSON.stringify(acrMapOf(input.entity), null, 2),
    error: errors.acrMap,
    rows: 6,
    hint: html`A list of {"acr", "classRefs", "comparison", "amr"}, strongest first; [] maps nothing. See the README.`,
  })}${checkbox({
    name: 'allowSha1',
    label: 'Accept SHA-1 signatures (legacy IdPs only)',
    checked: flag('allowSha1', options.allowSha1),
  })}${selectField({
    name: 'authnRequestBinding',
    label: 'AuthnRequest binding',
    value: val('authnRequestBinding', options.authnRequestBinding),
    options: [
      ...(options.authnRequestBinding
        ? []
        : ([['', "The IdP's first advertised binding"]] as Array<[string, string]>)),
      ['HTTP-Redirect', 'HTTP-Redirect'],
      ['HTTP-POST', 'HTTP-POST'],
    ],
    error: errors.authnRequestBinding,
  })}${selectField({
    name: 'subjectSource',
    label: 'Stable user id',
    value: val('subjectSource', options.subjectSource),
    options: [
      ...(options.subjectSource ? [] : ([['', "The preset's choice"]] as Array<[string, string]>)),
      ['auto', 'A stable-id attribute, else a persistent NameID'],
      ['nameid', 'The NameID, whatever its format'],
    ],
    error: errors.subjectSource,
  })}${checkbox({
    name: 'allowIdpInitiated',
    label: 'Accept IdP-initiated logins',
    checked: flag('allowIdpInitiated', c.allowIdpInitiated),
  })}${textField({
    name: 'idpInitiatedTarget',
    label: 'Where IdP-initiated logins land',
    value: val('idpInitiatedTarget', options.idpInitiatedTarget),
    error: errors.idpInitiatedTarget,
    hint: 'A path on this site, such as /welcome.',
  })}${textArea({
    name: 'adminGroups',
    label: 'Admin groups (console sign-in through this connection)',
    value: values.adminGroups ?? (options.adminGroups ?? []).join('\n'),
    error: errors.adminGroups,
    rows: 2,
    hint: 'One group per line, as in the groups claim (see a test login). Members may sign in to this console. Empty: nobody.',
  })}<button type="submit">Save settings</button></form>`;
}
