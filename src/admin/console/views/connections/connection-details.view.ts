import type { SsoTraceEntity } from '../../../../audit/sso-trace.entity';
import type { ConnectionEntity } from '../../../../connections/connection.entity';
import type { ConnectionView } from '../../../../connections/connection.view';
import type { SpKeyView } from '../../../../keys/sp-keys.service';
import type { ScimTokenView } from '../../../../scim/scim-token.dto';
import { directorySyncSection } from '../../../../web/components/directory-sync';
import {
  actionButton,
  copyable,
  csrfField,
  date,
  type FieldErrors,
  table,
} from '../../../../web/components/fields';
import {
  certificateBadges,
  certificateTable,
  metadataBadge,
  metadataForm,
  refreshErrorItem,
} from '../../../../web/components/metadata';
import { html, type Html } from '../../../../web/html';
import { consoleLayout } from '../../../../web/layout';
import { presetLabel } from '../../../preset-labels';
import type { SetupLinkSummary } from '../../../setup-links/setup-links.service';
import type { ConnectionFormValues } from '../../connection-forms';
import type { ConsoleSession } from '../../console-sessions.service';
import { connectionsChrome } from './connection-chrome';
import { settingsSection } from './connection-settings.view';
import { setupLinksSection } from './connection-setup-links.view';
import { tracesSection } from './connection-traces.view';

/** What the details page shows about one connection (loaded by the controller). */
export interface ConnectionDetails {
  entity: ConnectionEntity;
  c: ConnectionView;
  keys: SpKeyView[];
  traces: SsoTraceEntity[];
  lastLogin: Date | null;
  links: SetupLinkSummary[];
  scimTokens: ScimTokenView[];
}

function statusSection(c: ConnectionView, lastLogin: Date | null): Html {
  return html`<h2 id="status">Status</h2><ul><li>${
    c.enabled ? 'Enabled: users can sign in.' : html`<strong>Disabled</strong>: logins are refused.`
  }</li><li>${metadataBadge(c)} — last stored ${date(c.metadata.updatedAt)}${
    c.metadata.url
      ? html`, from <code>${c.metadata.url}</code>; next refresh ${date(c.metadata.nextRefreshAt)}`
      : ', uploaded document'
  }</li>${refreshErrorItem(c)}<li>${certificateBadges(c)}</li><li>Last successful login: ${date(lastLogin)}</li></ul>`;
}

function spSection(c: ConnectionView, keys: SpKeyView[], base: string): Html {
  const currentKey = keys.find((k) => k.status === 'current');
  return html`<h2 id="sp-details">Details for the customer's IdP</h2><p>Give these to the customer's IT admin (or send them the SP metadata URL).</p>${copyable(
    'sp-entity-id',
    'SP entity ID',
    c.sp.entityId,
  )}${copyable('sp-acs-url', 'ACS URL (HTTP-POST)', c.sp.acsUrl)}${copyable(
    'sp-slo-url',
    'Single logout URL',
    c.sp.sloUrl,
  )}${copyable('sp-metadata-url', 'SP metadata URL', c.sp.metadataUrl)}${
    currentKey ? copyable('sp-cert-fingerprint', 'Certificate SHA-256', currentKey.fingerprint) : ''
  }<p><a href="${base}/sp-certificate.pem" download>Download the SP certificate (PEM)</a> · <a href="${c.sp.metadataUrl}">Open the SP metadata</a></p>`;
}

function metadataSection(
  c: ConnectionView,
  base: string,
  csrf: string,
  values: ConnectionFormValues,
  errors: FieldErrors,
): Html {
  const sso = Object.entries(c.idp.ssoUrls);
  return html`<h2 id="metadata">IdP metadata</h2><p>Entity ID: <code>${c.idp.entityId}</code></p><p>Single sign-on: ${
    sso.length ? sso.map(([b, u], i) => html`${i ? html`<br>` : ''}${b} <code>${u}</code>`) : 'none'
  }</p>${certificateTable(c, 'Signing certificates (all trusted)', 'No signing certificate.')}${
    c.metadata.warnings.length
      ? html`<p class="muted">Warnings: ${c.metadata.warnings.map((w, i) => html`${i ? ' ' : ''}<code>${w}</code>`)}</p>`
      : ''
  }${c.metadata.url ? actionButton(`${base}/metadata/refresh`, csrf, 'Refresh from the URL now') : ''}${metadataForm(
    {
      action: `${base}/metadata`,
      hidden: csrfField(csrf),
      values: { metadataXml: values.metadataXml, metadataUrl: values.metadataUrl },
      error: errors.metadata,
      legend: 'Replace the metadata (one of the three)',
      submit: 'Replace the metadata',
    },
  )}`;
}

function spKeysSection(keys: SpKeyView[], base: string, csrf: string): Html {
  const rows = keys.map((k) => [
    k.status,
    html`<code>${k.fingerprint}</code>`,
    date(k.notAfter),
    date(k.createdAt),
  ]);
  return html`<h2 id="sp-keys">SP keys</h2>${table(
    'Signing and decryption keys of this connection',
    ['Status', 'SHA-256', 'Valid until', 'Created'],
    rows,
    'No keys.',
  )}${
    keys.some((k) => k.status === 'next')
      ? actionButton(`${base}/sp-keys/promote`, csrf, 'Promote the next key (finish the rollover)')
      : actionButton(`${base}/sp-keys/next`, csrf, 'Start a key rollover (create the next key)')
  }`;
}

/** A connection's page: status, the values for the customer, test login, setup links, settings, keys, traces. */
export function connectionDetailsView(input: {
  session: ConsoleSession;
  details: ConnectionDetails;
  values: ConnectionFormValues;
  errors: FieldErrors;
  notice?: string;
  error?: string;
}): Html {
  const { session, values, errors } = input;
  const { c, keys } = input.details;
  const base = `/admin/connections/${c.id}`;
  const csrf = session.csrfToken;
  return consoleLayout(
    connectionsChrome(session, { title: c.name, notice: input.notice, error: input.error }),
    html`<p class="muted">Slug <code>${c.slug}</code> · preset ${presetLabel(c.preset)} · <a href="#sp-details">SP details</a> · <a href="#test">Test login</a> · <a href="#setup-links">Setup links</a> · <a href="#directory-sync">Directory sync</a> · <a href="#settings">Settings</a> · <a href="#metadata">Metadata</a> · <a href="#sp-keys">SP keys</a> · <a href="#traces">Traces</a></p>${statusSection(
      c,
      input.details.lastLogin,
    )}${spSection(c, keys, base)}<h2 id="test">Test login</h2><p>Runs a real sign-in at the IdP and shows what the bridge receives and maps. It does not sign anyone in to an app and does not create or update a user.</p>${actionButton(
      `${base}/test-login`,
      csrf,
      'Run a test login',
    )}${setupLinksSection({ base, csrf, links: input.details.links, values, errors })}${directorySyncSection({
      scimBaseUrl: c.scim.baseUrl,
      match: c.scim.match,
      tokens: input.details.scimTokens,
      csrf,
      actions: {
        create: `${base}/scim-tokens`,
        revoke: (tokenId) => `${base}/scim-tokens/${tokenId}/revoke`,
      },
    })}${settingsSection({ base, csrf, entity: input.details.entity, c, values, errors })}${metadataSection(
      c,
      base,
      csrf,
      values,
      errors,
    )}${spKeysSection(keys, base, csrf)}${tracesSection(input.details.traces)}<h2 id="delete">Delete</h2><p><a href="${base}/delete">Delete this connection…</a></p>`,
  );
}
