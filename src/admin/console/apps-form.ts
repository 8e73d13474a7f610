import { DomainError } from '../../common/domain-error';
import { formList, formText, type FormBody } from './console-forms';

/** The app form's fields as typed (shown again when the form is refused). */
export type AppFormValues = Record<string, string | undefined>;

const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Service refusals that belong to one field of the form. */
export const APP_FIELD_OF_REASON: Record<string, string> = {
  invalid_redirect_uri: 'redirectUris',
  invalid_grant_types: 'grantTypes',
  outbound_destination_refused: 'backchannelLogoutUri',
};

/** A client_id from the URL: anything that cannot be one is an app that does not exist. */
export function appClientId(raw: string): string {
  if (!CLIENT_ID.test(raw))
    throw DomainError.notFound('client_not_found', 'There is no app with this client_id.');
  return raw;
}

/** The form as typed, to fill it in again. */
export function appFormValues(body: FormBody): AppFormValues {
  return {
    name: formText(body, 'name', 200),
    redirectUris: formText(body, 'redirectUris', 50_000),
    postLogoutRedirectUris: formText(body, 'postLogoutRedirectUris', 50_000),
    backchannelLogoutUri: formText(body, 'backchannelLogoutUri', 2048),
    grantTypes: formText(body, 'grantTypes', 100),
    tokenEndpointAuthMethod: formText(body, 'tokenEndpointAuthMethod', 40),
    allowedConnections: formText(body, 'allowedConnections', 50_000),
    ...tokenSettings(body),
  };
}

/** The form as the create or update DTO's plain input (validated with the API's rules). */
export function appFormInput(body: FormBody, creating: boolean): Record<string, unknown> {
  const grants = formText(body, 'grantTypes', 100);
  const allowed = formList(body, 'allowedConnections');
  return {
    name: formText(body, 'name', 200) ?? (creating ? '' : undefined),
    redirectUris: formList(body, 'redirectUris') ?? [],
    postLogoutRedirectUris: formList(body, 'postLogoutRedirectUris') ?? [],
    backchannelLogoutUri: formText(body, 'backchannelLogoutUri', 2048) ?? (creating ? undefined : ''),
    grantTypes: grants ? grants.split(',') : undefined,
    tokenEndpointAuthMethod: formText(body, 'tokenEndpointAuthMethod', 40),
    // Empty means every connection (the service stores null for "all").
    allowedConnections: allowed && allowed.length ? allowed : creating ? undefined : null,
    ...tokenSettings(body),
  };
}

/** The token settings as typed (absent: the default when registering, unchanged when editing). */
function tokenSettings(body: FormBody): Record<string, string | undefined> {
  return {
    accessTokenFormat: formText(body, 'accessTokenFormat', 16),
    idTokenSignedResponseAlg: formText(body, 'idTokenSignedResponseAlg', 16),
    accessTokenSigningAlg: formText(body, 'accessTokenSigningAlg', 16),
  };
}
