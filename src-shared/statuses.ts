// pyBit's seven status names are load-bearing strings: clients compare them literally.
export const STATUSES = ['Waiting', 'Blocked', 'Cancelled', 'Building', 'Failed', 'Uploaded', 'Done'] as const;
export type StatusName = (typeof STATUSES)[number];

/** Finished jobs are left out of "unfinished" lists, package-active checks, supersede and cancel-all (pyBit §7.1). */
export const FINISHED_STATUSES: readonly StatusName[] = ['Done', 'Uploaded', 'Cancelled'];
export const UNFINISHED_STATUSES: readonly StatusName[] = ['Waiting', 'Blocked', 'Building', 'Failed'];

export function isFinished(status: string | null | undefined): boolean {
  return status != null && (FINISHED_STATUSES as readonly string[]).includes(status);
}

/** Result categories as launchpad-buildd reports them. */
export const RESULT_CATEGORIES = ['OK', 'PACKAGEFAIL', 'DEPFAIL', 'GIVENBACK', 'CHROOTFAIL', 'BUILDERFAIL', 'ABORTED'] as const;
export type ResultCategory = (typeof RESULT_CATEGORIES)[number];
