// The JSON shapes of the apt repository listing (GET /api/v1/repo and /api/v1/repo/:dist) and
// the parsing of what apt itself reads (Packages and Sources indices, InRelease's signature),
// which the controller's listing is made from.
import { z } from 'zod';
import { parseDeb822 } from './deb822';

export const RepoDistributions = z.object({
  distributions: z.array(z.string()),
  /** Whether this controller publishes Done jobs at all (serve/box --publish or --sign-key). */
  publishing: z.boolean().optional(),
});
export type RepoDistributions = z.infer<typeof RepoDistributions>;

export const RepoEntry = z.object({
  component: z.string(),
  package: z.string(),
  version: z.string(),
  arch: z.string(),
  /** The .deb (or, for a source, the .dsc) relative to the repository's root: `/repo/<dist>/<path>`. */
  path: z.string(),
});
export type RepoEntry = z.infer<typeof RepoEntry>;

export const PublishFailure = z.object({ job: z.number().int(), attempts: z.number().int(), error: z.string(), nextAt: z.number() });
export type PublishFailure = z.infer<typeof PublishFailure>;

export const RepoListing = z.object({
  dist: z.string(),
  /** The repository's URL as the controller names itself: what goes into a sources.list line. */
  url: z.string(),
  suites: z.record(z.string(), z.array(RepoEntry)),
  /** Per suite: whether its index is signed (InRelease) and the signing key's fingerprint. */
  signing: z.record(z.string(), z.object({ signed: z.boolean(), signer: z.string().nullable() })),
  publishFailures: z.array(PublishFailure),
});
export type RepoListing = z.infer<typeof RepoListing>;

export const repoRoutes = {
  distributions: '/api/v1/repo',
  listing: (dist: string) => `/api/v1/repo/${encodeURIComponent(dist)}`,
  /** A path under the published tree of a distribution (what apt fetches). */
  file: (dist: string, path: string) => `/repo/${encodeURIComponent(dist)}/${path.split('/').map(encodeURIComponent).join('/')}`,
} as const;

/** One published file of a package, relative to the repository's root. */
export interface IndexFile {
  package: string;
  version: string;
  arch: string;
  path: string;
}

/** The files a Packages index (one .deb per stanza) or a Sources index (the .dsc) points at. */
export function indexFiles(text: string, kind: 'Packages' | 'Sources'): IndexFile[] {
  const out: IndexFile[] = [];
  for (const s of parseDeb822(text)) {
    const pkg = s.get('package');
    const version = s.get('version');
    if (!pkg || !version) continue;
    if (kind === 'Packages') {
      const file = s.get('filename');
      if (file) out.push({ package: pkg, version, arch: s.get('architecture') ?? '', path: file });
    } else {
      const dir = s.get('directory');
      const dsc = (s.get('files') ?? '')
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[2])
        .find((n) => n?.endsWith('.dsc'));
      if (dsc && dir) out.push({ package: pkg, version, arch: 'source', path: `${dir}/${dsc}` });
    }
  }
  return out;
}

/**
 * The key that made a clear-signed file's signature (an InRelease file): the issuer fingerprint
 * (or, from older signers, the 64-bit key id) read from the OpenPGP signature packet, upper-case
 * hex; null when the file carries no readable signature. Identifies the key; verifies nothing.
 */
export function signatureIssuer(clearSigned: string): string | null {
  const m = /-----BEGIN PGP SIGNATURE-----\r?\n([\s\S]*?)-----END PGP SIGNATURE-----/.exec(clearSigned);
  if (!m) return null;
  const lines = m[1]!.split(/\r?\n/);
  // Armor headers end at the first empty line; the checksum line starts with '='.
  const blank = lines.findIndex((l) => l.trim() === '');
  const b64 = lines
    .slice(blank >= 0 && lines.slice(0, blank).every((l) => l.includes(': ')) ? blank + 1 : 0)
    .filter((l) => !l.startsWith('='))
    .join('')
    .trim();
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
  const hex = (a: Uint8Array) => [...a].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
  // Packet header: new format (0xC0 | tag) or old format (0x80 | tag << 2 | length type).
  let p = 0;
  const h = bytes[p++];
  if (h === undefined || !(h & 0x80)) return null;
  let tag: number;
  if (h & 0x40) {
    tag = h & 0x3f;
    const l0 = bytes[p++]!;
    if (l0 >= 192 && l0 < 224) p += 1;
    else if (l0 === 255) p += 4;
  } else {
    tag = (h >> 2) & 0x0f;
    p += [1, 2, 4, 0][h & 3]!;
  }
  if (tag !== 2) return null;
  const version = bytes[p++];
  if (version !== 4 && version !== 5) return null;
  p += 3; // signature type, public-key algorithm, hash algorithm
  let keyId: string | null = null;
  let fingerprint: string | null = null;
  const areaLength = (at: number) => (version === 5 ? ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0 : (bytes[at]! << 8) | bytes[at + 1]!);
  const lenBytes = version === 5 ? 4 : 2;
  for (let area = 0; area < 2 && p < bytes.length; area++) {
    const end = p + lenBytes + areaLength(p);
    p += lenBytes;
    while (p < end && p < bytes.length) {
      const b0 = bytes[p++]!;
      let len: number;
      if (b0 < 192) len = b0;
      else if (b0 < 255) len = ((b0 - 192) << 8) + bytes[p++]! + 192;
      else {
        len = ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
        p += 4;
      }
      const type = bytes[p]! & 0x7f;
      const data = bytes.subarray(p + 1, p + len);
      if (type === 33 && data.length > 1) fingerprint = hex(data.subarray(1));
      if (type === 16 && data.length === 8) keyId = hex(data);
      p += len;
    }
    p = end;
  }
  return fingerprint ?? keyId;
}
