// Which controller the app talks to. Embedded: the same controller `buildbox serve` runs,
// started in this process on 127.0.0.1 (a random port unless the settings fix one), with tokens
// made for this launch only and revoked when it ends. Remote: a URL and token from the settings.
// The renderer receives only the resulting base URL and token.
import axios, { type AxiosResponse } from 'axios';
import type { Db } from '../controller/db/connect';
import { startController, type Controller, type ControllerOptions } from '../controller/controller';
import { issueToken } from '../controller/auth/tokens';
import { nowText } from '../controller/db/time';
import { brokerReachable, drainOutboxInto } from '../cli/box';
import { EmbeddedQueue } from '../../src-worker/embedded-queue';
import type { DesktopConnection, DesktopSettings, TestConnectionResult } from '@shared/desktop-bridge';

/** Token names of this app's per-launch tokens; leftovers of a crashed launch are revoked at start. */
export const LAUNCH_TOKEN_PREFIX = 'desktop-launch';

export interface LaunchTokens {
  /** Acts for the admin user: what the renderer uses. */
  user: { token: string; id: number };
  /** May only claim jobs and report builds: what the local worker uses. */
  worker: { token: string; id: number };
}

/** Revokes earlier launches' tokens, then makes this launch's user and worker tokens. */
export async function createLaunchTokens(db: Db): Promise<LaunchTokens> {
  await db.kysely
    .updateTable('tokens')
    .set({ revoked_at: nowText() })
    .where('name', 'like', `${LAUNCH_TOKEN_PREFIX}%`)
    .where('revoked_at', 'is', null)
    .execute();
  const admin =
    (await db.kysely.selectFrom('users').select('id').where('name', '=', 'admin').executeTakeFirst()) ??
    (await db.kysely.selectFrom('users').select('id').where('is_admin', '=', 1).orderBy('id').executeTakeFirst());
  if (!admin) throw new Error('the embedded controller has no administrator account to act for');
  const stamp = new Date().toISOString();
  return {
    user: await issueToken(db.kysely, { kind: 'user', userId: admin.id, name: `${LAUNCH_TOKEN_PREFIX} ${stamp}` }),
    worker: await issueToken(db.kysely, { kind: 'worker', userId: null, name: `${LAUNCH_TOKEN_PREFIX}-worker ${stamp}` }),
  };
}

export async function revokeTokens(db: Db, ids: number[]): Promise<void> {
  if (!ids.length) return;
  await db.kysely.updateTable('tokens').set({ revoked_at: nowText() }).where('id', 'in', ids).where('revoked_at', 'is', null).execute();
}

/** The Authorization header for a credential: `user:password` → Basic, anything else → Bearer. */
export function authorizationHeader(token: string): string {
  if (!token.startsWith('bbx_') && token.includes(':')) return `Basic ${Buffer.from(token, 'utf8').toString('base64')}`;
  return `Bearer ${token}`;
}

export function normaliseBaseUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

/** A proxy from the environment must not capture a controller on this machine. */
export function axiosProxyFor(baseUrl: string): { proxy?: false } {
  try {
    return isLoopback(new URL(baseUrl).hostname) ? { proxy: false } : {};
  } catch {
    return {};
  }
}

function describeAxiosFailure(e: unknown): string {
  if (axios.isAxiosError(e)) {
    if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT') return 'no answer (timed out)';
    const cause = (e.cause as NodeJS.ErrnoException | undefined)?.code;
    return cause ?? e.code ?? e.message;
  }
  return (e as Error).message ?? String(e);
}

function errorText(r: AxiosResponse): string {
  const d = r.data as unknown;
  if (d && typeof d === 'object' && typeof (d as { error?: unknown }).error === 'string') return (d as { error: string }).error;
  return typeof d === 'string' && d.length < 200 ? d.trim() : '';
}

/**
 * Checks that `url` answers as a Buildbox controller and accepts `token` for API writes.
 * The API has no "who am I" route, so the token is checked with a bulk cancel that has an
 * empty body: authentication comes first (401/403), then validation rejects the body (400)
 * before anything is touched.
 */
export async function testConnection(url: string, token: string, opts: { timeoutMs?: number } = {}): Promise<TestConnectionResult> {
  const baseUrl = normaliseBaseUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    return { ok: false, baseUrl, error: `'${url}' is not an http:// or https:// URL` };
  }
  if (!token.trim()) return { ok: false, baseUrl, error: 'a token is required (create one with `buildbox user token <name>`)' };
  const http = axios.create({
    baseURL: baseUrl,
    timeout: opts.timeoutMs ?? 8000,
    validateStatus: () => true,
    ...axiosProxyFor(baseUrl),
  });

  let stats: AxiosResponse;
  try {
    stats = await http.get('/api/v1/stats', { responseType: 'json' });
  } catch (e) {
    return { ok: false, baseUrl, error: `cannot reach ${baseUrl}: ${describeAxiosFailure(e)}` };
  }
  const body = stats.data as { total?: unknown } | undefined;
  if (stats.status !== 200 || !body || typeof body !== 'object' || typeof body.total !== 'number') {
    return { ok: false, baseUrl, error: `${baseUrl} does not answer as a Buildbox controller (GET /api/v1/stats gave HTTP ${stats.status})` };
  }

  let probe: AxiosResponse;
  try {
    probe = await http.post('/api/v1/jobs/cancel', {}, { headers: { authorization: authorizationHeader(token.trim()), 'content-type': 'application/json' } });
  } catch (e) {
    return { ok: false, baseUrl, error: `cannot reach ${baseUrl}: ${describeAxiosFailure(e)}` };
  }
  if (probe.status === 401) return { ok: false, baseUrl, error: `the controller refused the token (401${errorText(probe) ? `: ${errorText(probe)}` : ''})` };
  if (probe.status === 403) return { ok: false, baseUrl, error: `the token may not manage jobs (403${errorText(probe) ? `: ${errorText(probe)}` : ''}); use a user token, not a worker token` };
  if (probe.status !== 400) return { ok: false, baseUrl, error: `unexpected answer from ${baseUrl} while checking the token (HTTP ${probe.status})` };
  return { ok: true, baseUrl, message: `connected to ${baseUrl} (${body.total} jobs); the token is accepted` };
}

export interface EmbeddedController {
  controller: Controller;
  tokens: LaunchTokens;
  /** The AMQP URL the controller publishes to, or null when it runs without a broker. */
  amqp: string | null;
  /** Set when no broker is in use: jobs go to this in-process queue, for the local worker only. */
  queue: EmbeddedQueue | null;
  /** One line about the broker, for the log and the UI. */
  brokerNote: string;
}

export interface ConnectionManagerOptions {
  /** Where the embedded controller keeps its database and files (the user data directory). */
  dataDir: string;
  log: (line: string) => void;
  /** Extra controller options (tests: log level, lease, publisher tuning). */
  controllerOptions?: Partial<ControllerOptions>;
  /** How to probe the broker before using it (default: open an AMQP connection). */
  brokerReachable?: (url: string) => Promise<boolean>;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

type Listener = (c: DesktopConnection) => void;

function targetKey(s: DesktopSettings): string {
  return s.connection.mode === 'remote'
    ? JSON.stringify(['remote', normaliseBaseUrl(s.connection.remoteUrl), s.connection.remoteToken])
    : JSON.stringify(['embedded', s.embedded.amqp, s.embedded.port]);
}

/**
 * Holds the current connection and switches it when the settings change: starts the embedded
 * controller when needed and closes it (revoking its launch tokens) when leaving it.
 */
export class ConnectionManager {
  private conn: DesktopConnection | null = null;
  private key: string | null = null;
  private embeddedCtl: EmbeddedController | null = null;
  private readonly listeners = new Set<Listener>();
  /** Serialises switches: a second save waits for the first to finish. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ConnectionManagerOptions) {}

  current(): DesktopConnection | null {
    return this.conn;
  }

  embedded(): EmbeddedController | null {
    return this.embeddedCtl;
  }

  onChange(cb: Listener): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Makes the connection match the settings; a no-op when they name the same target. */
  apply(settings: DesktopSettings): Promise<DesktopConnection> {
    const run = this.queue.then(() => this.doApply(settings));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async doApply(s: DesktopSettings): Promise<DesktopConnection> {
    const key = targetKey(s);
    if (this.conn && this.key === key) return this.conn;
    let next: DesktopConnection;
    let nextEmbedded: EmbeddedController | null = null;
    if (s.connection.mode === 'remote') {
      next = { mode: 'remote', baseUrl: normaliseBaseUrl(s.connection.remoteUrl), token: s.connection.remoteToken };
    } else {
      // Close the old embedded controller first: both would open the same database file.
      await this.closeEmbedded();
      nextEmbedded = await this.startEmbedded(s);
      next = { mode: 'embedded', baseUrl: nextEmbedded.controller.url, token: nextEmbedded.tokens.user.token };
    }
    if (s.connection.mode === 'remote') await this.closeEmbedded();
    this.embeddedCtl = nextEmbedded;
    this.conn = next;
    this.key = key;
    this.opts.log(`connection: ${next.mode} controller at ${next.baseUrl}`);
    for (const l of this.listeners) l(next);
    return next;
  }

  private async startEmbedded(s: DesktopSettings): Promise<EmbeddedController> {
    // As `buildbox box` does: with no broker reachable, the local worker is fed from an
    // in-process queue instead, and remote workers wait for a broker.
    const wanted = s.embedded.amqp;
    const useBroker = wanted !== null && (await (this.opts.brokerReachable ?? brokerReachable)(wanted));
    const queue = useBroker ? null : new EmbeddedQueue((l) => this.opts.log(l));
    const brokerNote = useBroker
      ? `dispatching through RabbitMQ at ${redactUrl(wanted!)}`
      : `${wanted === null ? 'no broker configured' : `no RabbitMQ broker reachable at ${redactUrl(wanted)}`}: the local worker uses the embedded in-process queue (remote workers need a broker)`;
    const controller = await startController({
      dataDir: this.opts.dataDir,
      host: '127.0.0.1',
      port: s.embedded.port,
      amqp: useBroker ? wanted : null,
      ...this.opts.controllerOptions,
    });
    let drain: { stop(): void } | null = null;
    try {
      if (queue) {
        drain = drainOutboxInto(controller, queue);
        const stopDrain = drain;
        const close = controller.close.bind(controller);
        controller.close = async () => {
          stopDrain.stop();
          await close();
        };
      }
      this.opts.log(`embedded controller: ${brokerNote}`);
      if (controller.seedResult.generatedAdminPassword) {
        // Shown once, as `buildbox serve` does: it is what a browser or another machine logs in with.
        this.opts.log(`created user 'admin' with password: ${controller.seedResult.generatedAdminPassword} (not stored in clear; change it with 'buildbox user passwd admin')`);
      }
      const tokens = await createLaunchTokens(controller.ctx.db);
      return { controller, tokens, amqp: useBroker ? wanted : null, queue, brokerNote };
    } catch (e) {
      drain?.stop();
      await controller.close();
      throw e;
    }
  }

  private async closeEmbedded(): Promise<void> {
    const e = this.embeddedCtl;
    if (!e) return;
    this.embeddedCtl = null;
    if (this.conn?.mode === 'embedded') {
      this.conn = null;
      this.key = null;
    }
    try {
      await revokeTokens(e.controller.ctx.db, [e.tokens.user.id, e.tokens.worker.id]);
    } catch (err) {
      this.opts.log(`could not revoke this launch's tokens: ${(err as Error).message}`);
    }
    await e.controller.close();
  }

  async close(): Promise<void> {
    await this.queue;
    await this.closeEmbedded();
    this.conn = null;
    this.key = null;
  }
}
