// Launchpad's judge_failure table (spec launchpad-buildd.md §6.3).
import { describe, expect, it } from 'vitest';
import { BuildDaemonError, BuildDaemonIsolationError, judgeFailure } from '../../src-main/controller/lp/judge-failure';

const err = new BuildDaemonError('boom');

describe('judgeFailure', () => {
  it('fails both at once on an isolation error', () => {
    expect(judgeFailure(1, 1, new BuildDaemonIsolationError('x'))).toEqual([false, false]);
    expect(judgeFailure(0, 7, new BuildDaemonIsolationError('x'), false)).toEqual([false, false]);
  });
  it('equal counts: retry below the job reset threshold (3), then requeue; no retry requeues at once', () => {
    expect(judgeFailure(1, 1, err)).toEqual([null, null]);
    expect(judgeFailure(2, 2, err)).toEqual([null, null]);
    expect(judgeFailure(3, 3, err)).toEqual([null, true]);
    expect(judgeFailure(1, 1, err, false)).toEqual([null, true]);
  });
  it('builder more at fault: requeue the job, mark the builder dirty, disable it from 5 failures', () => {
    expect(judgeFailure(2, 1, err)).toEqual([true, true]);
    expect(judgeFailure(4, 0, err)).toEqual([true, true]);
    expect(judgeFailure(5, 1, err)).toEqual([false, true]);
    expect(judgeFailure(9, 3, err, false)).toEqual([false, true]);
  });
  it('job more at fault: fail the job', () => {
    expect(judgeFailure(1, 2, err)).toEqual([null, false]);
    expect(judgeFailure(0, 5, err, false)).toEqual([null, false]);
  });
});
