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

/** The preset's defaults with the admin's overrides on top (undefined overrides are ignored). */
export function resolveOptions(
  preset: Preset,
  overrides: Partial<ConnectionOptions> = {},
): ConnectionOptions {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...PRESET_OPTIONS[preset], ...defined };
}
