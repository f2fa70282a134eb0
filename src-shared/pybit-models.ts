// pyBit's wire models (spec/pybit.md §2.4), as the REST API and AMQP bodies carry them.
import { tag, type Tagged } from './jsonpickle';

export interface NamedRow { id: number; name: string }
export type Arch = Tagged<{ id: number; name: string }>;
export type Suite = Tagged<{ id: number; name: string }>;
export type Dist = Tagged<{ id: number; name: string }>;
export type Format = Tagged<{ id: number; name: string }>;
export type Status = Tagged<{ id: number; name: string }>;
export type BuildEnv = Tagged<{ id: number; name: string }>;
export type BuildD = Tagged<{ id: number; name: string }>;
export type Package = Tagged<{ id: number | null; version: string | null; name: string }>;
export type PackageInstance = Tagged<{
  id: number;
  package: Package;
  arch: Arch;
  build_env: BuildEnv | null;
  suite: Suite;
  distribution: Dist;
  format: Format;
  master: boolean;
}>;
export type Job = Tagged<{ id: number; packageinstance: PackageInstance; buildclient: BuildD | number | null }>;
export type JobHistory = Tagged<{ job_id: number; status: string; buildclient: string | null; time: string }>;
export type SuiteArch = Tagged<{ id: number; suite: Suite; arch: Arch; master_weight: number }>;
export type BuildEnvSuiteArch = Tagged<{ id: number; buildenv: BuildEnv | null; suitearch: SuiteArch }>;
export type Transport = Tagged<{ id: null; method: string; uri: string | null; vcs_id: string | null }>;
export type BuildRequest = Tagged<{ job: Job; transport: Transport; web_host: string; timestamp: number | null }>;
export type CancelRequest = Tagged<{ job: Job; web_host: string }>;
export type TaskComplete = Tagged<{ success: boolean; message: string }>;
export type Blacklist = Tagged<{ id: number; field: string; regex: string }>;

/** Lookup tables share one shape; the class tag differs. */
export const LOOKUP_CLASS = {
  arch: 'Arch',
  suite: 'Suite',
  distribution: 'Dist',
  format: 'Format',
  status: 'Status',
  buildenv: 'BuildEnv',
  buildclients: 'BuildD',
} as const;

export const named = (cls: string, r: NamedRow) => tag(cls, { id: r.id, name: r.name });

export function transport(method: string, uri: string | null, vcsId: string | null): Transport {
  return tag('Transport', { id: null, method, uri, vcs_id: vcsId });
}

export function buildRequest(job: Job, t: Transport, webHost: string, timestamp: number | null = null): BuildRequest {
  return tag('BuildRequest', { job, transport: t, web_host: webHost, timestamp });
}

export function cancelRequest(job: Job, webHost: string): CancelRequest {
  return tag('CancelRequest', { job, web_host: webHost });
}

export function taskComplete(success: boolean, message: string): TaskComplete {
  return tag('TaskComplete', { success, message });
}

/** RabbitMQ names (pyBit §4): queue `<dist>_<arch>_<suite>_<format>`, key `<dist>.<arch>.<suite>.<format>`. */
export const PYBIT_EXCHANGE = 'pybit';
export function buildQueueName(dist: string, arch: string, suite: string, format: string): string {
  return `${dist}_${arch}_${suite}_${format}`;
}
export function buildRoutingKey(dist: string, arch: string, suite: string, format: string): string {
  return `${dist}.${arch}.${suite}.${format}`;
}
export function clientQueueName(clientId: string): string {
  return `build_client_${clientId}`;
}
