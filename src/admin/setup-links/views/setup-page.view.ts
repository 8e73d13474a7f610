import type { Preset } from '../../../connections/connection.entity';
import type { ConnectionView } from '../../../connections/connection.view';
import type { ScimTokenView } from '../../../scim/scim-token.dto';
import { directorySyncSection } from '../../../web/components/directory-sync';
import { csrfField, date } from '../../../web/components/fields';
import {
  certificateBadges,
  certificateTable,
  metadataBadge,
  metadataForm,
  refreshErrorItem,
} from '../../../web/components/metadata';
import { html, type Html } from '../../../web/html';
import { setupLayout } from '../../../web/layout';
import { expectedClaimsView } from './expected-claims.view';
import { vendorInstructionsView } from './vendor-instructions.view';

/** Where the setup page's links and forms go (all under the token-free `/setup`). */
const CERTIFICATE_HREF = '/setup/sp-certificate.pem';

/**
 * The customer's setup page for one connection: what the link allows, the current state, the vendor's
 * steps with the values to copy, the claims read, the metadata form, the test login and directory sync.
 */
export function setupPageView(input: {
  connection: ConnectionView;
  linkExpiresAt: Date;
  /** SHA-256 of the connection's current SP certificate, if any. */
  spFingerprint?: string;
  scimTokens: ScimTokenView[];
  csrfToken: string;
  vendor: Preset;
  notice?: string;
  error?: string;
  metadataError?: string;
  values?: { metadataXml?: string; metadataUrl?: string };
}): Html {
  const c = input.connection;
  const connectionId = html`<input type="hidden" name="connectionId" value="${c.id}">`;
  const hidden = html`${csrfField(input.csrfToken)}${connectionId}`;
  return setupLayout(
    {
      title: `Single sign-on setup: ${c.name}`,
      notice: input.notice,
      error: input.error,
      connectionName: c.name,
    },
    html`<p>You were invited to set up single sign-on for <strong>${c.name}</strong>. Follow the steps for your identity provider, give us its metadata, then run a test login. This page can only change this connection's identity provider metadata and create tokens for your directory's provisioning (SCIM).</p><p class="muted">This link works until ${date(
      input.linkExpiresAt,
    )}.</p><h2 id="status">Current status</h2><ul><li>${metadataBadge(c)} — last stored ${date(c.metadata.updatedAt)}${
      c.metadata.url ? html`, from <code>${c.metadata.url}</code>` : ', uploaded document'
    }</li><li>IdP entity ID: <code id="idp-entity-id">${c.idp.entityId}</code></li><li>${certificateBadges(c)}</li>${refreshErrorItem(
      c,
    )}</ul>${certificateTable(c, 'IdP signing certificates', 'No signing certificate yet.')}${vendorInstructionsView(
      input.vendor,
      c,
      CERTIFICATE_HREF,
    )}<p class="muted">SP certificate SHA-256: <code>${input.spFingerprint ?? 'none'}</code> · <a href="${CERTIFICATE_HREF}" download>Download the SP certificate (PEM)</a> · <a href="${c.sp.metadataUrl}">Open the SP metadata</a></p>${expectedClaimsView(
      c.preset as Preset,
    )}<h2 id="metadata">Give us your IdP metadata</h2><p>Upload the metadata file, paste it, or give its URL (we fetch it now and keep it up to date).</p>${metadataForm(
      {
        action: '/setup/metadata',
        hidden,
        values: input.values ?? {},
        error: input.metadataError,
        legend: 'Your IdP metadata (one of the three)',
        submit: 'Save the metadata',
      },
    )}<h2 id="test">Test login</h2><p>Signs you in at your identity provider and shows what we receive and how we read it. Nobody is signed in to any app and no user is created.</p><form method="post" action="/setup/test-login" class="inline">${hidden}<button type="submit">Run a test login</button></form>${directorySyncSection(
      {
        scimBaseUrl: c.scim.baseUrl,
        match: c.scim.match,
        tokens: input.scimTokens,
        csrf: input.csrfToken,
        actions: { create: '/setup/scim-tokens', hidden: connectionId },
      },
    )}`,
  );
}
