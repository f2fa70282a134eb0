// Credentials must never reach a build log: logs are shown to anyone who can see the job
// (launchpad-buildd §3.6). We scrub every log write, not only "private" builds.

/** `scheme://user:password@host` loses `user:password@`; the user has no `:`, `@` or `/`, the password is non-empty. */
const URL_CREDENTIALS = /:\/\/[^\s:@/]*:[^\s@/]+@/g;
/** socat-style proxy arguments: `,proxyauth=user:token`. */
const PROXY_AUTH = /,proxyauth=[^\s:,]+:[^\s,]+/g;

export function scrubCredentials(text: string): string {
  if (!text.includes('://') && !text.includes('proxyauth=')) return text;
  return text.replace(URL_CREDENTIALS, '://').replace(PROXY_AUTH, '');
}
