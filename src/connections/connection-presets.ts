import { definedFields } from '../common/defined';
import type { ConnectionOptions, Preset } from './connection.entity';

const BASE: ConnectionOptions = {
  requiredSignature: 'either',
  signAuthnRequests: false,
  clockSkewSeconds: 180,
  allowSha1: false,
  forceAuthn: false,
  requestedAuthnContext: [],
};

/**
 * Per-IdP defaults. Entra ID and Google sign only the assertion; AD FS signs the assertion (and often
 * encrypts it); Okta may sign the response, the assertion or both.
 */
export const PRESET_OPTIONS: Record<Preset, ConnectionOptions> = {
  okta: { ...BASE, requiredSignature: 'either' },
  entra: { ...BASE, requiredSignature: 'assertion' },
  adfs: { ...BASE, requiredSignature: 'assertion' },
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
