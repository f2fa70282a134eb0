// The JSON shapes of /api/v1/repositories (git repositories whose pushes queue builds, each with
// its own webhook secret) and of the push webhooks /api/v1/hooks/github and /api/v1/hooks/gitlab.
import { z } from 'zod';

export const WEBHOOK_PROVIDERS = ['github', 'gitlab'] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
export const repositoryName = z
  .string({ error: (i) => (i.input === undefined ? 'required' : 'must be a string') })
  .min(1, { error: 'must not be empty' })
  .max(100)
  .regex(NAME, { error: "must start with a letter or digit and hold only letters, digits, '.', '_', '+', '-'" });

const optionalName = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(200)
  .regex(/^[^\s\u0000-\u001f\u007f]+$/, { error: 'must not contain spaces or control characters' });

export const RepositoryCreate = z.strictObject({
  name: repositoryName,
  provider: z.enum(WEBHOOK_PROVIDERS, { error: `must be one of ${WEBHOOK_PROVIDERS.join(', ')}` }),
  /** Where the controller fetches debian/changelog and debian/control, and workers clone from. */
  cloneUrl: z
    .string({ error: (i) => (i.input === undefined ? 'required' : 'must be a string') })
    .max(4096)
    .regex(/^(https?|git|ssh|file):\/\/[^\s]+$|^[\w.-]+@[\w.-]+:[^\s]+$/, { error: 'must be a git URL (http(s)://, git://, ssh://, file:// or user@host:path)' }),
  /** Build this suite instead of the changelog's distribution. */
  suite: optionalName.optional(),
  /** Distribution name (default: the controller's only one). */
  dist: optionalName.optional(),
  format: optionalName.optional(),
  /** Only pushes to this branch queue builds (default: every branch). */
  branch: optionalName.optional(),
});
export type RepositoryCreate = z.input<typeof RepositoryCreate>;

export const RepositoryInfo = z.object({
  id: z.number().int(),
  name: z.string(),
  provider: z.enum(WEBHOOK_PROVIDERS),
  cloneUrl: z.string(),
  suite: z.string().nullable(),
  dist: z.string().nullable(),
  format: z.string().nullable(),
  branch: z.string().nullable(),
  /** The URL to paste into the provider's webhook settings. */
  webhookUrl: z.string(),
  createdAt: z.string(),
  lastDeliveryAt: z.string().nullable(),
});
export type RepositoryInfo = z.infer<typeof RepositoryInfo>;

/** The answer to a create: the only time the secret is shown. */
export const RepositoryCreated = RepositoryInfo.extend({ secret: z.string() });
export type RepositoryCreated = z.infer<typeof RepositoryCreated>;

/** The answer to POST /api/v1/repositories/:name/secret: a new secret, shown only then. */
export const RepositorySecret = z.object({ name: z.string(), webhookUrl: z.string(), secret: z.string() });
export type RepositorySecret = z.infer<typeof RepositorySecret>;

export const RepositoryList = z.object({ items: z.array(RepositoryInfo) });
export type RepositoryList = z.infer<typeof RepositoryList>;

export const WebhookResponse = z.object({
  repository: z.string(),
  delivery: z.string(),
  /** The same delivery came before: nothing was queued this time. */
  duplicate: z.boolean(),
  /** Why nothing was queued (ping, branch not followed, branch deleted, …). */
  skipped: z.string().nullable(),
  queued: z
    .array(
      z.object({
        package: z.string(),
        version: z.string(),
        suite: z.string(),
        commit: z.string(),
        /** The package's directory in the repository ('' = the root); its jobs' URI ends in `#subdir=<dir>`. */
        subdir: z.string().optional(),
        jobIds: z.array(z.number().int()),
      }),
    )
    .describe('What this delivery queued.'),
});
export type WebhookResponse = z.infer<typeof WebhookResponse>;

export const hooksRoutes = {
  repositories: '/api/v1/repositories',
  repository: '/api/v1/repositories/:name',
  /** POST: replace the secret (the old one stops working at once). */
  repositorySecret: '/api/v1/repositories/:name/secret',
  github: '/api/v1/hooks/github',
  gitlab: '/api/v1/hooks/gitlab',
} as const;

/** The webhook URL of a repository on a controller reachable at `baseUrl`. */
export function webhookUrl(baseUrl: string, provider: WebhookProvider, name: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${hooksRoutes[provider]}?repository=${encodeURIComponent(name)}`;
}
