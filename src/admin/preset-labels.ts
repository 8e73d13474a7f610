import { type Preset, PRESETS } from '../connections/connection.entity';

/** The name of each IdP preset as admins and customers read it (console forms, setup pages). */
export const PRESET_LABELS: Readonly<Record<Preset, string>> = {
  okta: 'Okta',
  entra: 'Microsoft Entra ID',
  adfs: 'AD FS',
  google: 'Google Workspace',
  generic: 'Other SAML 2.0 IdP',
};

/** The label of a preset; an unknown value (an old row) as it is. */
export function presetLabel(id: string): string {
  return (PRESETS as readonly string[]).includes(id) ? PRESET_LABELS[id as Preset] : id;
}

/** The presets as select options (value, label), in the order of PRESETS. */
export const PRESET_OPTIONS: Array<[Preset, string]> = PRESETS.map((p) => [p, PRESET_LABELS[p]]);
