import type { ConnectionEntity } from '../../../connections/connection.entity';
import { mapIdentity, type MappedUser, MappingError } from '../../../mapping/attribute-mapping';
import { SamlRejection } from '../../saml-rejection';
import type { AssertionFacts } from '../acs-message';

/** Reason codes: those of the attribute mapping (MappingError). */
export const SUBJECT_MAPPING_REASONS = [
  'saml_subject_unstable',
  'saml_attribute_conflict',
  'saml_subject_missing',
] as const;

/** The assertion's subject and attributes mapped to a local identity by the connection's preset and overrides. */
export function checkSubjectMapping(connection: ConnectionEntity, assertion: AssertionFacts): MappedUser {
  try {
    return mapIdentity(
      { nameId: assertion.nameId, nameIdFormat: assertion.nameIdFormat, attributes: assertion.attributes },
      {
        preset: connection.preset,
        domains: connection.domains,
        overrides: connection.options.attributeMapping,
        subjectSource: connection.options.subjectSource,
      },
    );
  } catch (err) {
    if (err instanceof MappingError) throw new SamlRejection(err.code, err.message);
    throw err;
  }
}
