import type { Preset } from '../../../connections/connection.entity';
import type { ConnectionView } from '../../../connections/connection.view';
import { NAMEID_EMAIL, NAMEID_PERSISTENT } from '../../../mapping/attribute-mapping';
import { copyable } from '../../../web/components/fields';
import { html, type Html } from '../../../web/html';
import { PRESET_OPTIONS, presetLabel } from '../../preset-labels';

interface StepValues {
  c: ConnectionView;
  certificateHref: string;
}

type Step = (v: StepValues) => Html;

/** The NameID format to configure at the IdP for this vendor (the connection's own setting wins). */
export function nameIdFormatFor(vendor: Preset, c: ConnectionView): string {
  if (c.options.nameIdFormat) return c.options.nameIdFormat;
  return vendor === 'google' ? NAMEID_EMAIL : vendor === 'entra' ? NAMEID_EMAIL : NAMEID_PERSISTENT;
}

const entityId: Step = ({ c }) =>
  copyable('v-entity-id', 'SP entity ID (Audience / Identifier)', c.sp.entityId);
const acsUrl: Step = ({ c }) => copyable('v-acs-url', 'ACS URL (Reply URL, HTTP-POST)', c.sp.acsUrl);
const sloUrl: Step = ({ c }) => copyable('v-slo-url', 'Single logout URL', c.sp.sloUrl);
const metadataUrl: Step = ({ c }) => copyable('v-metadata-url', 'SP metadata URL', c.sp.metadataUrl);
const certificate: Step = ({ certificateHref }) =>
  html`<p><a href="${certificateHref}" download>Download the SP certificate (PEM)</a></p>`;
const nameId =
  (vendor: Preset): Step =>
  ({ c }) =>
    copyable('v-nameid-format', 'NameID format', nameIdFormatFor(vendor, c));

function claim(id: string, label: string, value: string): Html {
  return copyable(`v-claim-${id}`, label, value);
}

const MS = 'http://schemas.microsoft.com/';
const XMLSOAP = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/';

/** Numbered steps per vendor; each value appears once, with a copy button. */
const STEPS: Record<Preset, Array<[string, Step[]]>> = {
  okta: [
    [
      'In the Okta Admin Console, open Applications → Create App Integration → SAML 2.0, and name the app.',
      [],
    ],
    [
      'Single sign-on URL: paste the ACS URL and keep "Use this for Recipient URL and Destination URL" checked.',
      [acsUrl],
    ],
    ['Audience URI (SP Entity ID): paste the SP entity ID.', [entityId]],
    ['Name ID format: Persistent.', [nameId('okta')]],
    [
      'Attribute statements (name → value): email → user.email, firstName → user.firstName, lastName → user.lastName, okta_user_id → user.id. Group attribute statement: groups, filter "Matches regex" .*',
      [
        () =>
          html`${claim('email', 'Attribute name for the email', 'email')}${claim('stable-id', 'Attribute name for the stable user id', 'okta_user_id')}${claim('groups', 'Group attribute name', 'groups')}`,
      ],
    ],
    [
      'Optional, single logout: under "Show Advanced Settings", enable Single Logout, paste the single logout URL and upload the SP certificate.',
      [sloUrl, certificate],
    ],
    [
      'Finish, assign the app to the people or groups who should sign in, then copy the Metadata URL from the Sign On tab and give it below.',
      [],
    ],
  ],
  entra: [
    [
      'In the Microsoft Entra admin center, open Enterprise applications → New application → Create your own application (non-gallery), then Single sign-on → SAML.',
      [],
    ],
    [
      'Basic SAML Configuration: upload the SP metadata file (from the SP metadata URL), or enter Identifier (Entity ID), Reply URL (ACS URL) and Logout URL by hand.',
      [metadataUrl, entityId, acsUrl, sloUrl],
    ],
    [
      'Attributes & Claims: keep the default claims (the bridge keys users by the object identifier claim and reads email, given name, surname and display name). Keep the default unique user identifier.',
      [
        () =>
          html`${claim('stable-id', 'Stable user id claim', `${MS}identity/claims/objectidentifier`)}${claim('email', 'Email claim', `${XMLSOAP}emailaddress`)}`,
        nameId('entra'),
      ],
    ],
    [
      'Add a group claim (Security groups, or groups assigned to the application) so that groups reach the bridge.',
      [() => claim('groups', 'Group claim', `${MS}ws/2008/06/identity/claims/groups`)],
    ],
    ['Users and groups: assign the people who should sign in.', []],
    [
      'SAML Certificates: copy the App Federation Metadata URL and give it below (or download the Federation Metadata XML and upload it).',
      [],
    ],
  ],
  adfs: [
    [
      'In AD FS Management, open Relying Party Trusts → Add Relying Party Trust → Claims aware, and choose "Import data about the relying party published online" with the SP metadata URL.',
      [metadataUrl],
    ],
    [
      'If AD FS cannot reach the bridge, enter the data by hand: relying party identifier = SP entity ID, SAML 2.0 WebSSO service URL = ACS URL, and the SP certificate for encryption.',
      [entityId, acsUrl, certificate],
    ],
    [
      'Claim issuance policy, rule "Send LDAP Attributes as Claims": E-Mail-Addresses → E-Mail Address, Given-Name → Given Name, Surname → Surname, Token-Groups (unqualified) → Group.',
      [
        () =>
          html`${claim('email', 'Email claim', `${XMLSOAP}emailaddress`)}${claim('groups', 'Group claim', 'http://schemas.xmlsoap.org/claims/Group')}`,
      ],
    ],
    [
      'Add a stable user id: a rule that sends objectGUID as ImmutableID, or transforms it into a persistent Name ID.',
      [
        () => claim('stable-id', 'Stable user id claim', `${MS}LiveID/Federation/2008/05/ImmutableID`),
        nameId('adfs'),
      ],
    ],
    ['Optional, single logout: add a SAML logout endpoint with the single logout URL.', [sloUrl]],
    [
      'Give your federation metadata URL below: https://your-adfs-host/FederationMetadata/2007-06/FederationMetadata.xml',
      [],
    ],
  ],
  google: [
    [
      'In the Google Admin console, open Apps → Web and mobile apps → Add app → Add custom SAML app, and name it.',
      [],
    ],
    ['On "Google Identity Provider details", download the IdP metadata: you will upload it below.', []],
    [
      'Service provider details: ACS URL, Entity ID = SP entity ID, Name ID format EMAIL, Name ID = Basic Information › Primary email. Leave "Signed response" unchecked (Google signs the assertion).',
      [acsUrl, entityId, nameId('google')],
    ],
    [
      'Attribute mapping: Primary email → email, First name → givenName, Last name → sn; Group membership → groups.',
      [
        () =>
          html`${claim('email', 'Attribute for the email', 'email')}${claim('given-name', 'Attribute for the first name', 'givenName')}${claim('family-name', 'Attribute for the last name', 'sn')}${claim('groups', 'Attribute for the groups', 'groups')}`,
      ],
    ],
    ['User access: turn the app ON for everyone, or for the organisational units that should sign in.', []],
  ],
  generic: [
    [
      'Give your IdP the SP metadata URL (or its content). If it has no metadata import, enter the SP entity ID and the ACS URL (HTTP-POST binding) by hand.',
      [metadataUrl, entityId, acsUrl],
    ],
    [
      'Send a persistent NameID, or a stable user id attribute (never only an email, which can change).',
      [nameId('generic')],
    ],
    [
      'Send the attributes email, givenName, sn and groups (the URN or claim-URI equivalents also work).',
      [
        () =>
          html`${claim('email', 'Email attribute', 'email')}${claim('given-name', 'First name attribute', 'givenName')}${claim('family-name', 'Last name attribute', 'sn')}${claim('groups', 'Groups attribute', 'groups')}`,
      ],
    ],
    ['Sign the assertion (or the response) with RSA-SHA256.', []],
    [
      'Optional: single logout to the single logout URL; the SP certificate is in the metadata.',
      [sloUrl, certificate],
    ],
    ['Give your IdP metadata below (file, pasted XML or URL).', []],
  ],
};

/** The vendor picker (links, so it works without JavaScript) and the chosen vendor's numbered steps. */
export function vendorInstructionsView(vendor: Preset, c: ConnectionView, certificateHref: string): Html {
  return html`<h2 id="instructions">Set up ${presetLabel(vendor)}</h2><nav aria-label="Identity provider"><ul class="vendors">${PRESET_OPTIONS.map(
    ([id, label]) =>
      html`<li><a href="/setup?vendor=${id}#instructions"${id === vendor ? html` aria-current="page"` : ''}>${label}</a></li>`,
  )}</ul></nav>${
    vendor !== c.preset
      ? html`<p class="notice">This connection is prepared for <strong>${presetLabel(c.preset)}</strong>. If your identity provider is ${presetLabel(vendor)}, tell your contact so that they change the connection's preset.</p>`
      : ''
  }<ol class="steps" id="steps-${vendor}">${STEPS[vendor].map(
    ([text, parts]) => html`<li><p>${text}</p>${parts.map((p) => p({ c, certificateHref }))}</li>`,
  )}</ol>`;
}
