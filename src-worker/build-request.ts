// Reading a pyBit BuildRequest (spec/pybit.md §2.4, §4) into the few facts a build needs.
// Everything that ends up in a path or on a command line is checked here.
import { z } from 'zod';
import { decodeJsonpickle } from '@shared/jsonpickle';

const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/; // Debian policy §5.6.1
const VERSION = /^[A-Za-z0-9.+~:-]+$/; // §5.6.12 characters; no "/" or spaces
const WORD = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/; // arch, suite, dist, format, env, method

const named = (rx: RegExp, what: string) => z.looseObject({ name: z.string().regex(rx, `invalid ${what} name`) });

const BuildRequestSchema = z.looseObject({
  job: z.looseObject({
    id: z.number().int(),
    packageinstance: z.looseObject({
      package: z.looseObject({
        name: z.string().regex(PACKAGE, 'invalid package name'),
        version: z.string().regex(VERSION, 'invalid package version'),
      }),
      arch: named(WORD, 'architecture'),
      suite: named(WORD, 'suite'),
      distribution: named(WORD, 'distribution'),
      format: named(WORD, 'format'),
      build_env: named(WORD, 'build environment').nullish(),
      master: z.boolean(),
    }),
  }),
  transport: z.looseObject({
    method: z.string().regex(WORD, 'invalid transport method'),
    uri: z.string().nullish(),
    vcs_id: z.union([z.string(), z.number()]).nullish(),
  }),
  web_host: z.string().nullish(),
  timestamp: z.number().nullish(),
});

export interface JobDescription {
  jobId: number;
  package: string;
  version: string;
  arch: string;
  suite: string;
  distribution: string;
  format: string;
  buildEnv: string | null;
  /** Master builds also build the source and arch-independent packages. */
  master: boolean;
  transport: { method: string; uri: string | null; vcsId: string | null };
  webHost: string | null;
  /** Seconds since the epoch, set when a client republishes the request. */
  timestamp: number | null;
}

export class BuildRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildRequestError';
  }
}

/** Accepts the AMQP body (jsonpickle text, `py/id` references allowed) or an already parsed object. */
export function parseBuildRequest(input: unknown): JobDescription {
  let value = input;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    try {
      value = decodeJsonpickle(input.toString());
    } catch (err) {
      throw new BuildRequestError(`BuildRequest is not JSON: ${(err as Error).message}`);
    }
  }
  const parsed = BuildRequestSchema.safeParse(value);
  if (!parsed.success) {
    throw new BuildRequestError(
      `invalid BuildRequest: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const r = parsed.data;
  const pi = r.job.packageinstance;
  return {
    jobId: r.job.id,
    package: pi.package.name,
    version: pi.package.version,
    arch: pi.arch.name,
    suite: pi.suite.name,
    distribution: pi.distribution.name,
    format: pi.format.name,
    buildEnv: pi.build_env?.name ?? null,
    master: pi.master,
    transport: {
      method: r.transport.method,
      uri: r.transport.uri ?? null,
      vcsId: r.transport.vcs_id == null ? null : String(r.transport.vcs_id),
    },
    webHost: r.web_host ?? null,
    timestamp: r.timestamp ?? null,
  };
}
