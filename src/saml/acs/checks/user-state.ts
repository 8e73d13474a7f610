import { SamlRejection } from '../../saml-rejection';

export const USER_STATE_REASONS = ['saml_user_disabled'] as const;

/**
 * The local user this identity is, if any, is not disabled (the user is created or updated only when the
 * login completes). `showDisabled`: the login only shows who signed in (a test login), so a disabled user
 * passes; `continueTo`: where a refused login continues (e.g. back to the app that started it).
 */
export function checkUserState(
  existing: { id: string; disabled: boolean } | null,
  options: { showDisabled: boolean; continueTo?: string },
): void {
  if (!existing?.disabled || options.showDisabled) return;
  throw new SamlRejection(
    'saml_user_disabled',
    'Your account is disabled; ask your administrator.',
    { userId: existing.id },
    403,
    options.continueTo,
  );
}
