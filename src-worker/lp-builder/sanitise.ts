// Log scrubbing for private builds (spec §3.6), the same two patterns as launchpad-buildd:
// `scheme://user:password@host` loses `user:password@`, and socat's `,proxyauth=user:token` goes.
// The strings handled here are "byte strings" (latin1-decoded) so that non-UTF-8 logs round-trip;
// hence explicit ASCII whitespace instead of \S, which in JS would also match U+00A0.

const PASSWORD_RE = /:\/\/([^:@/]*:[^:@/]+@)([^ \t\n\r\f\v]+)/g;
const PROXY_AUTH_RE = /,proxyauth=[^:]+:[A-Za-z0-9-]+/g;

export function sanitiseLine(line: string): string {
  return line.replace(PASSWORD_RE, '://$2').replace(PROXY_AUTH_RE, '');
}

/** Scrubs a multi-line text, keeping its line ends. */
export function sanitiseText(text: string): string {
  return text
    .split(/(\r\n|\r|\n)/)
    .map((part, i) => (i % 2 === 0 ? sanitiseLine(part) : part))
    .join('');
}
