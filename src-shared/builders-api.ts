// The JSON shapes of /api/v1/builders, /api/v1/chroots and /api/v1/uploads: launchpad-buildd
// style builders the controller drives, the chroot tarballs it sends them, and source uploads.
import { z } from 'zod';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const ARCH = /^[a-z0-9][a-z0-9-]*$/;

export const builderName = z
  .string()
  .min(1)
  .max(100)
  .regex(NAME, "must start with a letter or digit and hold only letters, digits, '.', '_', '+', '-'");

export const builderUrl = z
  .string()
  .max(2000)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without query, fragment or credentials (the base URL; XML-RPC is at <url>/rpc)')
  .transform((s) => s.replace(/\/+$/, '').replace(/\/rpc$/, ''));

export const archName = z.string().min(1).max(100).regex(ARCH, 'must be a Debian architecture name (lower-case letters, digits, -)');

export const BuilderCreate = z.strictObject({
  name: builderName,
  url: builderUrl,
  arch: archName,
  virtualised: z.boolean().default(false),
  manual: z.boolean().default(false),
  enabled: z.boolean().default(true),
});
export type BuilderCreate = z.infer<typeof BuilderCreate>;

export const BuilderPatch = z
  .strictObject({
    url: builderUrl.optional(),
    arch: archName.optional(),
    virtualised: z.boolean().optional(),
    manual: z.boolean().optional(),
    /** Enabling a builder clears its failure count (as Launchpad's builderok = True does). */
    enabled: z.boolean().optional(),
    failureNotes: z.string().max(10_000).nullable().optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');
export type BuilderPatch = z.infer<typeof BuilderPatch>;

export const BuilderJob = z.object({
  jobId: z.number().int(),
  cookie: z.string().nullable(),
  logtail: z.string().nullable(),
  dispatchedAt: z.string().nullable(),
});

export const BuilderInfo = z.object({
  id: z.number().int(),
  name: z.string(),
  url: z.string(),
  arch: z.string(),
  virtualised: z.boolean(),
  manual: z.boolean(),
  enabled: z.boolean(),
  failureNotes: z.string().nullable(),
  failureCount: z.number().int(),
  /** CLEAN, DIRTY or CLEANING. */
  cleanStatus: z.string(),
  /** The builder_status the last status() call returned (e.g. BuilderStatus.IDLE). */
  lastStatus: z.string().nullable(),
  version: z.string().nullable(),
  lastSeen: z.string().nullable(),
  currentJob: BuilderJob.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type BuilderInfo = z.infer<typeof BuilderInfo>;

export const ChrootRegister = z.strictObject({
  suite: z.string().min(1).max(200),
  arch: archName,
  /** A build environment name; omitted or '' = any environment. */
  environment: z.string().max(200).optional(),
  /** SHA-1 of a file already in the librarian. */
  sha1: z.string().regex(/^[0-9a-f]{40}$/, 'must be 40 lower-case hexadecimal digits'),
  /** File name used in the librarian URL (default chroot-<suite>-<arch>.tar). */
  name: z.string().min(1).max(255).optional(),
});
export type ChrootRegister = z.infer<typeof ChrootRegister>;

export const ChrootInfo = z.object({
  id: z.number().int(),
  suite: z.string(),
  arch: z.string(),
  environment: z.string().nullable(),
  sha1: z.string(),
  name: z.string(),
  size: z.number().int(),
  url: z.string(),
  createdAt: z.string(),
});
export type ChrootInfo = z.infer<typeof ChrootInfo>;

export const UploadedFile = z.object({ name: z.string(), sha1: z.string(), sha256: z.string(), size: z.number().int(), url: z.string() });

export const UploadResponse = z.object({
  package: z.string(),
  version: z.string(),
  /** The .dsc in the librarian: the jobs' source (method dsc, uri = this URL). */
  dsc: UploadedFile,
  files: z.array(UploadedFile),
  jobIds: z.array(z.number().int()),
  /** Older jobs of the same target superseded by this upload. */
  cancelled: z.array(z.number().int()),
});
export type UploadResponse = z.infer<typeof UploadResponse>;

export const builderRoutes = {
  list: '/api/v1/builders',
  one: '/api/v1/builders/:name',
  chroots: '/api/v1/chroots',
  chroot: '/api/v1/chroots/:id',
  uploads: '/api/v1/uploads',
} as const;
