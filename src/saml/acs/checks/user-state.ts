import { SamlRejection } from '../../saml-rejection';

export const USER_STATE_REASONS = ['saml_user_disabled', 'user_deprovisioned'] as const;

/**
 * The local user this identity is, if any, may sign in: not deactivated or deleted by the directory (SCIM),
 * not disabled by an admin (the user is created or updated only when the login completes). `showDisabled`:
 * the login only shows who signed in (a test login), so such a user passes. Where a refused login
 * continues is its consumer's choice (refusedUrl, asked by the SAML page filter).
 */
export function checkUserState(
  existing: {
    id: string;
    disabled: boolean;
    scimActive?: boolean | null;
    scimDeletedAt?: Date | null;
  } | null,
  options: { showDisabled: boolean },
): void {
  if (!existing || options.showDisabled) return;
  if (existing.scimActive === false || (existing.scimDeletedAt ?? null) !== null) {
    throw new SamlRejection(
      'user_deprovisioned',
      "Your account was removed from your organisation's directory; ask your administrator.",
      { userId: existing.id },
    );
  }
  if (!existing.disabled) return;
  throw new SamlRejection('saml_user_disabled', 'Your account is disabled; ask your administrator.', {
    userId: existing.id,
  });
}
