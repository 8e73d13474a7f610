import { createdTokenSection } from '../../../web/components/directory-sync';
import type { Html } from '../../../web/html';
import { setupLayout } from '../../../web/layout';

/** A new SCIM token created from the setup page, shown once. */
export function scimTokenCreatedView(input: {
  connectionName: string;
  token: string;
  scimBaseUrl: string;
}): Html {
  return setupLayout(
    { title: `Directory sync: ${input.connectionName}`, connectionName: input.connectionName },
    createdTokenSection({
      token: input.token,
      scimBaseUrl: input.scimBaseUrl,
      back: '/setup#directory-sync',
      backLabel: 'Back to the setup page',
    }),
  );
}
