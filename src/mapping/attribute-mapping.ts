import type { Preset } from '../connections/connection.entity';

export const MAPPED_FIELDS = [
  'subject',
  'email',
  'givenName',
  'familyName',
  'displayName',
  'groups',
] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

/** Admin overrides: the attribute name to read for each field. */
export type AttributeMappingOverrides = Partial<Record<MappedField, string>>;

/**
 * Where the stable subject comes from. `auto`: a stable-id attribute, else a persistent NameID, else the
 * login is refused (an email is never a subject). `nameid`: the NameID whatever its format (for IdPs such
 * as Google Workspace that only send the primary email; the admin accepts that a renamed email is a new user).
 */
export type SubjectSource = 'auto' | 'nameid';

const NS = {
  xmlsoap: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/',
  ms: 'http://schemas.microsoft.com/identity/claims/',
  ms2008: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/',
};

const GENERIC: Record<MappedField, string[]> = {
  subject: [
    `${NS.ms}objectidentifier`,
    'http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID',
    'urn:oid:1.3.6.1.4.1.5923.1.1.1.13', // eduPersonUniqueId
    'urn:oid:1.3.6.1.4.1.5923.1.1.1.10', // eduPersonTargetedID
  ],
  email: [
    'email',
    'mail',
    'emailAddress',
    'Email',
    'urn:oid:0.9.2342.19200300.100.1.3',
    `${NS.xmlsoap}emailaddress`,
  ],
  givenName: [
    'givenName',
    'firstName',
    'firstname',
    'first_name',
    'urn:oid:2.5.4.42',
    `${NS.xmlsoap}givenname`,
  ],
  familyName: [
    'sn',
    'lastName',
    'lastname',
    'surname',
    'last_name',
    'urn:oid:2.5.4.4',
    `${NS.xmlsoap}surname`,
  ],
  displayName: [
    'displayName',
    'name',
    'Name',
    'cn',
    'urn:oid:2.16.840.1.113730.3.1.241',
    `${NS.ms}displayname`,
  ],
  groups: [
    'groups',
    'group',
    'Groups',
    'memberOf',
    'roles',
    'role',
    'Role',
    'urn:oid:1.3.6.1.4.1.5923.1.5.1.1', // isMemberOf
    `${NS.ms2008}groups`,
    `${NS.ms2008}role`,
    'http://schemas.xmlsoap.org/claims/Group',
  ],
};

function preferring(first: Partial<Record<MappedField, string[]>>): Record<MappedField, string[]> {
  const out = {} as Record<MappedField, string[]>;
  for (const field of MAPPED_FIELDS) {
    const head = first[field] ?? [];
    out[field] = [...head, ...GENERIC[field].filter((a) => !head.includes(a))];
  }
  return out;
}

export interface MappingPreset {
  attributes: Record<MappedField, string[]>;
  subjectSource: SubjectSource;
}

/** Claim URIs and attribute names each IdP family sends, most specific first. */
export const MAPPING_PRESETS: Record<Preset, MappingPreset> = {
  entra: {
    subjectSource: 'auto',
    attributes: preferring({
      subject: [`${NS.ms}objectidentifier`],
      email: [`${NS.xmlsoap}emailaddress`, `${NS.xmlsoap}name`],
      displayName: [`${NS.ms}displayname`],
      groups: [`${NS.ms2008}groups`, `${NS.ms2008}role`],
    }),
  },
  adfs: {
    subjectSource: 'auto',
    attributes: preferring({
      subject: [
        'http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID',
        `${NS.ms2008}primarysid`,
      ],
      email: [`${NS.xmlsoap}emailaddress`, `${NS.xmlsoap}upn`],
      groups: ['http://schemas.xmlsoap.org/claims/Group', `${NS.ms2008}role`],
    }),
  },
  okta: {
    subjectSource: 'auto',
    attributes: preferring({ subject: ['okta_user_id', 'userId'], email: ['email'], groups: ['groups'] }),
  },
  google: { subjectSource: 'nameid', attributes: preferring({}) },
  generic: { subjectSource: 'auto', attributes: preferring({}) },
};

export const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
export const NAMEID_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
export const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

export interface AssertionIdentity {
  nameId: string;
  nameIdFormat?: string;
  /** Attribute values by name, in document order (an attribute repeated in the assertion is merged). */
  attributes: Record<string, string[]>;
}

export interface MappedUser {
  subject: string;
  subjectSource: string;
  email: string | null;
  emailVerified: boolean;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  groups: string[];
}

export class MappingError extends Error {
  constructor(
    public readonly code: 'saml_subject_unstable' | 'saml_attribute_conflict' | 'saml_subject_missing',
    message: string,
  ) {
    super(message);
  }
}

const EMAIL =
  /^[^\s@]{1,64}@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$/;

export interface MappingConfig {
  preset: Preset;
  domains: string[];
  overrides?: AttributeMappingOverrides;
  subjectSource?: SubjectSource;
}

/**
 * Maps an assertion to a user. Deterministic: a single-valued field whose attribute carries several
 * different values is refused (attribute smuggling); groups are the union in document order.
 */
export function mapIdentity(identity: AssertionIdentity, config: MappingConfig): MappedUser {
  const preset = MAPPING_PRESETS[config.preset];
  const candidates = (field: MappedField): string[] => {
    const override = config.overrides?.[field];
    return override ? [override] : preset.attributes[field];
  };
  const single = (field: MappedField): string | null => {
    for (const name of candidates(field)) {
      const values = (identity.attributes[name] ?? []).map((v) => v.trim()).filter((v) => v.length > 0);
      const [value, ...otherValues] = [...new Set(values)];
      if (value === undefined) continue;
      if (otherValues.length > 0) {
        throw new MappingError(
          'saml_attribute_conflict',
          `The attribute "${name}" (used for ${field}) has ${otherValues.length + 1} different values; the bridge needs exactly one.`,
        );
      }
      return value;
    }
    return null;
  };

  const subjectSource = config.subjectSource ?? preset.subjectSource;
  let subject = single('subject');
  let source = 'attribute';
  if (!subject) {
    const nameId = identity.nameId.trim();
    if (!nameId)
      throw new MappingError('saml_subject_missing', 'The assertion has no NameID and no subject attribute.');
    if (identity.nameIdFormat === NAMEID_TRANSIENT) {
      throw new MappingError(
        'saml_subject_unstable',
        'The IdP sent a transient NameID, which changes at every login. Configure it to send a persistent NameID or a stable user-id attribute.',
      );
    }
    if (identity.nameIdFormat === NAMEID_PERSISTENT || subjectSource === 'nameid') {
      subject = nameId;
      source = 'nameid';
    } else {
      throw new MappingError(
        'saml_subject_unstable',
        'The IdP identified the user only by an email-style NameID, which can be reassigned. Configure it to send a persistent NameID or a stable user-id attribute (e.g. Entra objectidentifier), or set the connection option subjectSource to "nameid".',
      );
    }
  }
  const subjectAttribute =
    source === 'attribute' ? candidates('subject').find((n) => identity.attributes[n]) : undefined;

  let email = single('email');
  if (!email && (identity.nameIdFormat === NAMEID_EMAIL || EMAIL.test(identity.nameId.trim()))) {
    email = identity.nameId.trim();
  }
  if (email && !EMAIL.test(email)) email = null;
  const domain = email ? (EMAIL.exec(email)?.[1] ?? '').toLowerCase() : '';
  const emailVerified = Boolean(email) && config.domains.includes(domain);

  const groups: string[] = [];
  for (const name of candidates('groups')) {
    for (const g of identity.attributes[name] ?? []) {
      const v = g.trim();
      if (v && !groups.includes(v)) groups.push(v);
    }
    if (groups.length > 0) break;
  }

  return {
    subject,
    subjectSource: subjectAttribute ?? source,
    email: email ? email.toLowerCase() : null,
    emailVerified,
    givenName: single('givenName'),
    familyName: single('familyName'),
    displayName: single('displayName'),
    groups,
  };
}
