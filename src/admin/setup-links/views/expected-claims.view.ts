import type { Preset } from '../../../connections/connection.entity';
import { MAPPING_PRESETS, NAMEID_PERSISTENT } from '../../../mapping/attribute-mapping';
import { joined } from '../../../web/components/join';
import { html, type Html } from '../../../web/html';

const FIELDS = [
  ['subject', 'Stable user id'],
  ['email', 'Email'],
  ['givenName', 'First name'],
  ['familyName', 'Last name'],
  ['displayName', 'Display name'],
  ['groups', 'Groups'],
] as const;

/** The attribute names the connection's preset reads, field by field (most specific first). */
export function expectedClaimsView(preset: Preset): Html {
  const mapping = MAPPING_PRESETS[preset];
  const rows = FIELDS.map(([field, label]) => {
    const names = mapping.attributes[field].slice(0, 4);
    const more = mapping.attributes[field].length - names.length;
    return html`<tr><th scope="row">${label}</th><td>${joined(
      names.map((n) => html`<code>${n}</code>`),
      html`<br>`,
    )}${more > 0 ? html`<br><span class="muted">and ${more} more</span>` : ''}</td></tr>`;
  });
  const subject =
    mapping.subjectSource === 'nameid'
      ? 'The NameID is the stable user id.'
      : html`Without a stable-id attribute, a persistent NameID (${NAMEID_PERSISTENT}) is the stable user id; an email is never accepted as one.`;
  return html`<h2 id="claims">Claims the bridge reads</h2><p>Any one of the names listed works for each field. ${subject}</p><table><caption>Attribute names, most specific first</caption><tbody>${rows}</tbody></table>`;
}
