import { MAX_PAGE_SIZE } from './scim-context';
import { SCIM } from './scim-error';
import { MAX_OPERATIONS } from './scim-patch';
import { ENTERPRISE_STRINGS, NAME_PARTS, SINGLE_STRINGS } from './scim-user';

/** The service provider's own description (RFC 7644 §4, RFC 7643 §5–§7): what the bridge supports. */

export function serviceProviderConfig(baseUrl: string, maxPayloadBytes: number) {
  return {
    schemas: [SCIM.serviceProviderConfig],
    documentationUri: 'https://github.com/saml-bridge/saml-bridge#directory-sync-scim',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_PAGE_SIZE },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: "A per-connection SCIM token from the bridge's admin API or console",
        primary: true,
      },
    ],
    meta: {
      resourceType: 'ServiceProviderConfig',
      location: `${baseUrl}/ServiceProviderConfig`,
    },
    'urn:saml-bridge:limits': { maxPayloadBytes, maxPatchOperations: MAX_OPERATIONS },
  };
}

export function resourceTypes(baseUrl: string) {
  return [
    {
      schemas: [SCIM.resourceType],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'A person of the customer directory; the same user as their SAML logins',
      schema: SCIM.user,
      schemaExtensions: [{ schema: SCIM.enterprise, required: false }],
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/User` },
    },
    {
      schemas: [SCIM.resourceType],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'A directory group; its name is in the groups claim of its members',
      schema: SCIM.group,
      schemaExtensions: [],
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/Group` },
    },
  ];
}

type Attr = Record<string, unknown>;

const attr = (name: string, extra: Attr = {}): Attr => ({
  name,
  type: 'string',
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});

const multi = (name: string, subs: Attr[]): Attr =>
  attr(name, {
    type: 'complex',
    multiValued: true,
    subAttributes: [...subs, attr('type'), attr('primary', { type: 'boolean' })],
  });

export function schemas(baseUrl: string) {
  const meta = (id: string) => ({ resourceType: 'Schema', location: `${baseUrl}/Schemas/${id}` });
  return [
    {
      schemas: [SCIM.schema],
      id: SCIM.user,
      name: 'User',
      description: 'User Account',
      attributes: [
        attr('userName', { required: true, uniqueness: 'server' }),
        attr('externalId', { caseExact: true }),
        attr('name', {
          type: 'complex',
          subAttributes: NAME_PARTS.map((n) => attr(n)),
        }),
        ...SINGLE_STRINGS.map((n) => attr(n)),
        attr('active', { type: 'boolean' }),
        attr('password', { mutability: 'writeOnly', returned: 'never' }),
        multi('emails', [attr('value'), attr('display')]),
        multi('phoneNumbers', [attr('value'), attr('display')]),
        multi('addresses', [
          attr('formatted'),
          attr('streetAddress'),
          attr('locality'),
          attr('region'),
          attr('postalCode'),
          attr('country'),
        ]),
        multi('roles', [attr('value'), attr('display')]),
        multi('entitlements', [attr('value'), attr('display')]),
        attr('groups', {
          type: 'complex',
          multiValued: true,
          mutability: 'readOnly',
          subAttributes: [
            attr('value', { mutability: 'readOnly' }),
            attr('display', { mutability: 'readOnly' }),
          ],
        }),
      ],
      meta: meta(SCIM.user),
    },
    {
      schemas: [SCIM.schema],
      id: SCIM.enterprise,
      name: 'EnterpriseUser',
      description: 'Enterprise User',
      attributes: [
        ...ENTERPRISE_STRINGS.map((n) => attr(n, n === 'employeeNumber' ? { caseExact: true } : {})),
        attr('manager', {
          type: 'complex',
          subAttributes: [attr('value'), attr('displayName', { mutability: 'readOnly' })],
        }),
      ],
      meta: meta(SCIM.enterprise),
    },
    {
      schemas: [SCIM.schema],
      id: SCIM.group,
      name: 'Group',
      description: 'Group',
      attributes: [
        attr('displayName', { required: true, uniqueness: 'server' }),
        attr('externalId', { caseExact: true }),
        attr('members', {
          type: 'complex',
          multiValued: true,
          subAttributes: [
            attr('value', { mutability: 'immutable' }),
            attr('display', { mutability: 'readOnly' }),
          ],
        }),
      ],
      meta: meta(SCIM.group),
    },
  ];
}
