// The JSON shapes of /api/v1/me, /api/v1/users and /api/v1/tokens: who the caller is, the
// accounts (administrators manage them; a user may change its own password) and the API tokens
// (a user's own, or worker tokens, which administrators make). Secrets (passwords, tokens) are
// answered only once, by the request that made them.
import { z } from 'zod';

const required = (what: string) => (i: { input: unknown }) => (i.input === undefined ? 'required' : `must be ${what}`);

// No ':' (HTTP Basic splits there) and nothing that needs escaping in a URL path or a log line.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]*$/;
const NAME_RULE = "must start with a letter or digit and hold only letters, digits, '.', '_', '@', '+', '-'";

export const userName = z
  .string({ error: required('a string') })
  .min(1, { error: 'must not be empty' })
  .max(100, { error: 'must be at most 100 characters' })
  .regex(NAME, { error: NAME_RULE });

/** Token names: also the principal name of a worker token, so the same rule as user names. */
export const tokenName = z
  .string({ error: required('a string') })
  .min(1, { error: 'must not be empty' })
  .max(100, { error: 'must be at most 100 characters' })
  .regex(NAME, { error: NAME_RULE });

export const password = z
  .string({ error: required('a string') })
  .min(8, { error: 'must be at least 8 characters' })
  .max(1024, { error: 'must be at most 1024 characters' });

export const TOKEN_KINDS = ['user', 'worker'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

export const Me = z.object({
  /** The user name, the worker token's name, or '' when no credential was sent. */
  name: z.string(),
  kind: z.enum(['user', 'worker', 'anonymous']),
  isAdmin: z.boolean(),
  /** Set when the caller authenticated with a token. */
  tokenId: z.number().int().optional(),
});
export type Me = z.infer<typeof Me>;

export const UserCreate = z.strictObject({
  name: userName,
  /** Omitted: one is generated and answered once. */
  password: password.optional(),
  admin: z.boolean({ error: 'must be true or false' }).default(false),
});
export type UserCreate = z.input<typeof UserCreate>;

export const UserPatch = z
  .strictObject({
    password: password.optional(),
    /** Administrators only. */
    admin: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .refine((p) => p.password !== undefined || p.admin !== undefined, { error: 'give password or admin to change' });
export type UserPatch = z.input<typeof UserPatch>;

export const UserInfo = z.object({
  name: z.string(),
  isAdmin: z.boolean(),
  createdAt: z.string(),
  /** Tokens of this user not revoked. */
  activeTokens: z.number().int(),
});
export type UserInfo = z.infer<typeof UserInfo>;

/** The answer to a create: `password` is there only when the server generated it. */
export const UserCreated = UserInfo.extend({ password: z.string().optional() });
export type UserCreated = z.infer<typeof UserCreated>;

export const UserList = z.object({ items: z.array(UserInfo) });
export type UserList = z.infer<typeof UserList>;

export const TokenCreate = z.strictObject({
  name: tokenName,
  /** 'worker' tokens (administrators only) may only claim jobs and report on them. */
  kind: z.enum(TOKEN_KINDS, { error: `must be one of ${TOKEN_KINDS.join(', ')}` }).default('user'),
  /** A user token for another user (administrators only); default the caller. */
  user: userName.optional(),
});
export type TokenCreate = z.input<typeof TokenCreate>;

export const TokenInfo = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: z.enum(TOKEN_KINDS),
  /** The owner of a user token; null for worker tokens. */
  user: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  /** This is the token the request was made with. */
  current: z.boolean(),
});
export type TokenInfo = z.infer<typeof TokenInfo>;

/** The answer to a create: the only time the token itself is shown. */
export const TokenCreated = TokenInfo.extend({ token: z.string() });
export type TokenCreated = z.infer<typeof TokenCreated>;

export const TokenList = z.object({ items: z.array(TokenInfo) });
export type TokenList = z.infer<typeof TokenList>;

export const usersRoutes = {
  me: '/api/v1/me',
  users: '/api/v1/users',
  user: '/api/v1/users/:name',
  tokens: '/api/v1/tokens',
  token: '/api/v1/tokens/:id',
} as const;

/** A path with its parameter filled in and escaped. */
export const userPath = (name: string) => `${usersRoutes.users}/${encodeURIComponent(name)}`;
export const tokenPath = (id: number) => `${usersRoutes.tokens}/${id}`;
