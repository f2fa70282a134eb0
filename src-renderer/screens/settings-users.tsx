// Settings → Users and tokens.
export function UsersAndTokensSection() {
  return null;
}
