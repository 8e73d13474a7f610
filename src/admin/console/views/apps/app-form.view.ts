import { AUTH_METHODS, type OidcClientEntity } from '../../../../oidc/oidc-client.entity';
import {
  csrfField,
  selectField,
  textArea,
  textField,
  type FieldErrors,
} from '../../../../web/components/fields';
import { html, type Html } from '../../../../web/html';
import { consoleLayout, type ConsoleChrome } from '../../../../web/layout';
import type { AppFormValues } from '../../apps-form';

/** The usual grant combinations, plus the app's own if it is another (so that editing keeps it). */
function grantOptions(current?: string): Array<[string, string]> {
  const options: Array<[string, string]> = [
    ['authorization_code,refresh_token', 'Sign users in (authorization code + refresh tokens)'],
    ['authorization_code', 'Sign users in, no refresh tokens'],
    ['client_credentials', 'Service app (client credentials only)'],
  ];
  if (current && !options.some(([v]) => v === current))
    options.push([current, current.split(',').join(' + ')]);
  return options;
}

/** The app's fields; `pick` gives a field's value (as typed, or the app's current one). */
export function appFields(
  client: OidcClientEntity | undefined,
  pick: (name: string, current: string | undefined) => string | undefined,
  errors: FieldErrors,
): Html {
  return html`${textField({
    name: 'name',
    label: 'Name',
    value: pick('name', client?.name),
    error: errors.name,
    required: true,
  })}${textArea({
    name: 'redirectUris',
    label: 'Redirect URIs',
    value: pick('redirectUris', client?.redirectUris.join('\n')),
    error: errors.redirectUris,
    rows: 3,
    hint: 'One per line, matched exactly. https (http only for localhost), no fragment.',
  })}${textArea({
    name: 'postLogoutRedirectUris',
    label: 'Post-logout redirect URIs',
    value: pick('postLogoutRedirectUris', client?.postLogoutRedirectUris.join('\n')),
    error: errors.postLogoutRedirectUris,
    rows: 2,
  })}${textField({
    name: 'backchannelLogoutUri',
    label: 'Back-channel logout URI (optional)',
    type: 'url',
    value: pick('backchannelLogoutUri', client?.backchannelLogoutUri ?? undefined),
    error: errors.backchannelLogoutUri,
  })}${selectField({
    name: 'grantTypes',
    label: 'What the app does',
    value: pick('grantTypes', client?.grantTypes.join(',') ?? 'authorization_code,refresh_token'),
    options: grantOptions(client?.grantTypes.join(',')),
    error: errors.grantTypes,
  })}${selectField({
    name: 'tokenEndpointAuthMethod',
    label: 'How the app authenticates to the token endpoint',
    value: pick('tokenEndpointAuthMethod', client?.tokenEndpointAuthMethod ?? 'client_secret_basic'),
    options: AUTH_METHODS.filter(
      (m) => m !== 'private_key_jwt' || client?.tokenEndpointAuthMethod === 'private_key_jwt',
    ).map((m) => [m, m === 'none' ? 'none (public app: PKCE, no secret)' : `${m} (client secret)`]),
    error: errors.tokenEndpointAuthMethod,
    hint: 'Apps using private_key_jwt are registered through the API (they need a JWKS URL).',
  })}${textArea({
    name: 'allowedConnections',
    label: 'Allowed connections (slugs)',
    value: pick('allowedConnections', client?.allowedConnections?.join('\n')),
    error: errors.allowedConnections,
    rows: 2,
    hint: 'One per line; empty allows every connection.',
  })}${selectField({
    name: 'accessTokenFormat',
    label: 'Access tokens',
    value: pick('accessTokenFormat', client?.accessTokenFormat ?? 'jwt'),
    options: [
      ['jwt', 'JWT (RFC 9068): resource servers verify them offline with the JWKS'],
      ['opaque', 'Opaque: resource servers use introspection, the app userinfo'],
    ],
    error: errors.accessTokenFormat,
  })}${selectField({
    name: 'accessTokenSigningAlg',
    label: 'JWT access tokens signed with',
    value: pick('accessTokenSigningAlg', client?.accessTokenSigningAlg ?? 'RS256'),
    options: [
      ['RS256', 'RS256 (every resource server accepts it)'],
      ['ES256', 'ES256 (cheaper; only if every resource server accepts it)'],
    ],
    error: errors.accessTokenSigningAlg,
  })}${selectField({
    name: 'idTokenSignedResponseAlg',
    label: 'ID tokens signed with',
    value: pick('idTokenSignedResponseAlg', client?.idTokenSignedResponseAlg ?? 'RS256'),
    options: [
      ['RS256', 'RS256 (what OpenID Connect libraries expect by default)'],
      ['ES256', 'ES256 (only if the app accepts it)'],
    ],
    error: errors.idTokenSignedResponseAlg,
  })}`;
}

/** Register an app, or edit one (`client`), with the values as typed and the field errors. */
export function appFormPage(input: {
  session: NonNullable<ConsoleChrome['session']>;
  client?: OidcClientEntity;
  values: AppFormValues;
  errors: FieldErrors;
  error?: string;
}): Html {
  const { client, values, errors } = input;
  const summary =
    input.error ?? (Object.keys(errors).length ? 'Not saved: fix the fields marked below.' : undefined);
  const action = client ? `/admin/apps/${client.clientId}` : '/admin/apps';
  const pick = (name: string, current: string | undefined) =>
    values[name] !== undefined ? values[name] : current;
  return consoleLayout(
    {
      title: client ? `Edit ${client.name}` : 'Register an app',
      session: input.session,
      active: 'apps',
      error: summary,
    },
    html`<form method="post" action="${action}" class="main">${csrfField(input.session.csrfToken)}${appFields(
      client,
      pick,
      errors,
    )}<button type="submit">${client ? 'Save changes' : 'Register the app'}</button></form>`,
  );
}
