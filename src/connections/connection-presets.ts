import { definedFields } from '../common/defined';
import type { AcrMapping, ConnectionOptions, Preset } from './connection.entity';

/** REFEDS assurance profiles: the preset maps' OIDC acr values (the same URIs serve SAML and OIDC). */
export const ACR_MFA = 'https://refeds.org/profile/mfa';
export const ACR_SFA = 'https://refeds.org/profile/sfa';
const AC = 'urn:oasis:names:tc:SAML:2.0:ac:classes:';

/**
 * Microsoft (Entra ID, AD FS): `http://schemas.microsoft.com/claims/multipleauthn` is the class Microsoft
 * documents for multi-factor authentication; password sign-ins come back as Password or
 * PasswordProtectedTransport (the Entra fixture in shared/fixtures/real-idp sends Password).
 */
const MICROSOFT_ACR_MAP: AcrMapping[] = [
  { acr: ACR_MFA, classRefs: ['http://schemas.microsoft.com/claims/multipleauthn'], amr: ['mfa'] },
  { acr: ACR_SFA, classRefs: [`${AC}Password`, `${AC}PasswordProtectedTransport`], amr: ['pwd'] },
];

/**
 * Okta: its step-up guide's predefined values (`urn:okta:loa:2fa:any`, `urn:okta:loa:1fa:any`) are what
 * Okta accepts as requested context; a password sign-in comes back as PasswordProtectedTransport (the
 * Okta fixture in shared/fixtures/real-idp).
 */
const OKTA_ACR_MAP: AcrMapping[] = [
  { acr: ACR_MFA, classRefs: ['urn:okta:loa:2fa:any'], amr: ['mfa'] },
  {
    acr: ACR_SFA,
    classRefs: ['urn:okta:loa:1fa:any', `${AC}PasswordProtectedTransport`],
    amr: ['pwd'],
  },
];

const BASE: ConnectionOptions = {
  requiredSignature: 'either',
  signAuthnRequests: false,
  clockSkewSeconds: 180,
  allowSha1: false,
  forceAuthn: false,
  requestedAuthnContext: [],
  acrMap: [],
};

/**
 * Per-IdP defaults. Entra ID and Google sign only the assertion; AD FS signs the assertion (and often
 * encrypts it); Okta may sign the response, the assertion or both.
 */
export const PRESET_OPTIONS: Record<Preset, ConnectionOptions> = {
  okta: { ...BASE, requiredSignature: 'either', acrMap: OKTA_ACR_MAP },
  entra: { ...BASE, requiredSignature: 'assertion', acrMap: MICROSOFT_ACR_MAP },
  adfs: { ...BASE, requiredSignature: 'assertion', acrMap: MICROSOFT_ACR_MAP },
  google: { ...BASE, requiredSignature: 'assertion' },
  generic: { ...BASE, requiredSignature: 'either' },
};

/**
 * The preset's defaults, then the current options (if any), then the admin's overrides; undefined
 * values never replace defined ones.
 */
export function resolveOptions(
  preset: Preset,
  overrides: Partial<ConnectionOptions> = {},
  current?: Partial<ConnectionOptions>,
): ConnectionOptions {
  return { ...PRESET_OPTIONS[preset], ...definedFields(current), ...definedFields(overrides) };
}

/** The connection's acr map: its own, else its preset's (connections stored before acrMap existed). */
export function acrMapOf(connection: { preset: Preset; options: ConnectionOptions }): AcrMapping[] {
  return connection.options.acrMap ?? PRESET_OPTIONS[connection.preset].acrMap ?? [];
}
