/** The parts of a user (or a directory record) a display name is made of. */
export interface NameParts {
  displayName?: string | null;
  givenName?: string | null;
  familyName?: string | null;
}

/**
 * The name to show for a user: the IdP's or directory's display name, else "given family", else null.
 * One rule for the ID token's `name`, the session page, the console and SCIM.
 */
export function displayNameOf(user: NameParts): string | null {
  return user.displayName || [user.givenName, user.familyName].filter(Boolean).join(' ') || null;
}
