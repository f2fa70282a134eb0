// The one small interface every build backend (sbuild, dpkg, dry-run, scripted) implements.
// The state machines (the AMQP buildd and the launchpad-buildd XML-RPC face) drive a backend
// through it and never care which one runs.
import type { ResultCategory } from '@shared/statuses';

/** Append-only build log; implementations write to a file and may stream it elsewhere. */
export interface BuildLog {
  write(text: string): void;
}

export interface BuildSpec {
  /** A fresh directory owned by this build; the backend writes its results here. */
  workdir: string;
  /** Path of the source package's .dsc (its files sit beside it). */
  dsc: string;
  /** Debian architecture to build for. */
  arch: string;
  suite: string;
  /** pyBit build environment name, if any (chroot `<env>-<suite>`). */
  buildEnv?: string | null;
  /** Master builds: source + arch-indep + arch-dep. Slaves: arch-dep only. */
  archIndep: boolean;
  /** Chroot tarball for sbuild (unshare mode). */
  chrootTarball?: string;
  /** Extra apt sources lines and trusted keys (launchpad-buildd `archives`, `trusted_keys`). */
  archives?: string[];
  trustedKeys?: string[];
  debugSymbols?: boolean;
  log: BuildLog;
  /** Aborting kills the whole process tree of the build. */
  signal: AbortSignal;
}

export interface BuildOutcome {
  category: ResultCategory;
  /** For DEPFAIL: the unsatisfied relation(s), e.g. "libfoo-dev (>= 1.2)". */
  missingDependencies?: string;
  /** The .changes file, when the build produced one. */
  changesFile?: string;
  /** Every produced file: the .changes, the files it lists, the .buildinfo. */
  files: string[];
  /** A short human explanation for failures. */
  message?: string;
}

export interface BuildBackend {
  readonly name: string;
  build(spec: BuildSpec): Promise<BuildOutcome>;
  /**
   * The caller stopped waiting for an aborted build that did not end in time, and will start
   * others: whatever that build still holds in the backend itself must not reach them.
   */
  abandon?(): void;
}
