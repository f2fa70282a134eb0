// GET /api/v1/stats/activity: what the farm did per time bucket over the last hours, computed by
// the controller from the job status history, so that a busy farm's chart covers the whole
// window rather than the few minutes its latest jobs span.
import { z } from 'zod';

export const ACTIVITY_MAX_HOURS = 168;
/** Bucket widths in minutes: each divides an hour or a day, so buckets start on round times. */
export const ACTIVITY_BUCKETS = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440] as const;
/** A chart wider than this is unreadable and costs the controller for nothing. */
export const ACTIVITY_MAX_BUCKETS = 500;

const intParam = (name: string) =>
  z
    .string({ error: (i) => (i.input === undefined ? 'required' : 'must be a whole number') })
    .regex(/^\d{1,6}$/, { error: `${name} must be a whole number` })
    .transform(Number);

export const ActivityQuery = z
  .strictObject({
    hours: intParam('hours')
      .pipe(z.number().min(1, { error: `must be between 1 and ${ACTIVITY_MAX_HOURS}` }).max(ACTIVITY_MAX_HOURS, { error: `must be between 1 and ${ACTIVITY_MAX_HOURS}` }))
      .optional()
      .describe(`Window length in hours, 1..${ACTIVITY_MAX_HOURS} (default 12).`),
    bucket: intParam('bucket')
      .pipe(
        z.number().refine((n) => (ACTIVITY_BUCKETS as readonly number[]).includes(n), {
          error: `must be one of ${ACTIVITY_BUCKETS.join(', ')} (minutes)`,
        }),
      )
      .optional()
      .describe(`Bucket width in minutes, one of ${ACTIVITY_BUCKETS.join(', ')} (default: 60, or less for short windows).`),
  })
  .transform((q, ctx) => {
    const hours = q.hours ?? 12;
    const bucket = q.bucket ?? defaultBucket(hours);
    const n = Math.ceil((hours * 60) / bucket);
    if (n > ACTIVITY_MAX_BUCKETS) {
      ctx.addIssue({ code: 'custom', path: ['bucket'], message: `${hours} hours of ${bucket}-minute buckets make ${n} buckets; at most ${ACTIVITY_MAX_BUCKETS}` });
      return z.NEVER;
    }
    return { hours, bucket };
  });
export type ActivityQuery = z.output<typeof ActivityQuery>;

/** The bucket width used when none is asked for: about 12–48 buckets. */
export function defaultBucket(hours: number): number {
  if (hours <= 1) return 5;
  if (hours <= 6) return 15;
  if (hours <= 24) return 60;
  if (hours <= 72) return 180;
  return 360;
}

export const ActivityBucket = z.object({
  start: z.string().describe('ISO 8601 UTC start of the bucket (inclusive).'),
  end: z.string().describe('ISO 8601 UTC end of the bucket (exclusive).'),
  submitted: z.number().int().describe('Jobs created in the bucket.'),
  started: z.number().int().describe('Changes to Building (a retried job counts each time).'),
  done: z.number().int().describe('Changes to Done.'),
  failed: z.number().int().describe('Changes to Failed.'),
  meanBuildSeconds: z.number().nullable().describe('Mean Building → Done/Failed time of the builds that ended in the bucket.'),
  maxBuildSeconds: z.number().nullable(),
  waitingAtEnd: z.number().int().describe('Jobs Waiting at the end of the bucket (at the time of the request for the last one).'),
});
export type ActivityBucket = z.infer<typeof ActivityBucket>;

export const ActivityResponse = z.object({
  hours: z.number().int(),
  bucketMinutes: z.number().int(),
  from: z.string(),
  to: z.string(),
  buckets: z.array(ActivityBucket),
});
export type ActivityResponse = z.infer<typeof ActivityResponse>;

export const activityRoute = {
  method: 'GET',
  path: '/api/v1/stats/activity',
  summary: 'Per time bucket: jobs submitted, started, finished, build durations and queue depth',
  query: ActivityQuery,
  response: ActivityResponse,
} as const;
