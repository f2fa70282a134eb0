// Submit a build: for an existing package instance (as pyBit's job page did), from a git/svn/dsc
// URL and revision, from apt (package=version), or by uploading a .dsc/.changes with its files. Forms are checked with the server's own
// schemas before sending; the server's answer, good or bad, shows beside the button.
import { useMemo, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { SubmitForInstance, SubmitFromHook, type SubmitJobResponse } from '@shared/api';
import type { z } from 'zod';
import type { UploadResponse } from '@shared/builders-api';
import { useApi } from '../lib/context';
import { useLookups } from '../lib/queries';
import { ErrorNote, Field, useAction } from '../components/common';

type Mode = 'instance' | 'vcs' | 'apt' | 'upload';
type Errors = Record<string, string>;

function issues(e: z.ZodError): Errors {
  const out: Errors = {};
  for (const i of e.issues) {
    const k = String(i.path[0] ?? 'form');
    out[k] ??= i.message;
  }
  return out;
}

function Result({ r }: { r: SubmitJobResponse | null }) {
  if (!r) return null;
  return (
    <p className="ok" role="status" data-testid="submit-result">
      Created {r.jobIds.length} job{r.jobIds.length === 1 ? '' : 's'}:{' '}
      {r.jobIds.map((id, i) => (
        <span key={id}>
          {i ? ', ' : ''}
          <Link to={`/ui/jobs/${id}`}>{id}</Link>
        </span>
      ))}
      {r.superseded.length ? ` (superseded ${r.superseded.join(', ')})` : ''}
    </p>
  );
}

export function SubmitScreen() {
  const [mode, setMode] = useState<Mode>('vcs');
  const tabs: Array<[Mode, string]> = [
    ['vcs', 'From a git/svn URL'],
    ['apt', 'From apt'],
    ['instance', 'From a package instance'],
    ['upload', 'Upload .dsc/.changes'],
  ];
  return (
    <section aria-labelledby="submit-title">
      <h1 id="submit-title">Submit a build</h1>
      <div role="tablist" className="tabs">
        {tabs.map(([m, label]) => (
          <button key={m} role="tab" type="button" aria-selected={mode === m} onClick={() => setMode(m)}>
            {label}
          </button>
        ))}
      </div>
      {mode === 'instance' ? <InstanceForm /> : mode === 'upload' ? <UploadForm /> : <HookForm apt={mode === 'apt'} key={mode} />}
    </section>
  );
}

function HookForm({ apt }: { apt: boolean }) {
  const api = useApi();
  const qc = useQueryClient();
  const lookups = useLookups();
  const [suite, setSuite] = useState('');
  const [arches, setArches] = useState<string[]>([]);
  const [errors, setErrors] = useState<Errors>({});
  const [result, setResult] = useState<SubmitJobResponse | null>(null);
  const l = lookups.data;
  const suiteArches = useMemo(() => l?.suiteArches.filter((sa) => sa.suite === suite) ?? [], [l, suite]);
  const envs = useMemo(() => [...new Set(l?.buildEnvSuiteArches.filter((m) => m.suite === suite).map((m) => m.buildEnv) ?? [])], [l, suite]);
  const submit = useAction(async (body: unknown) => {
    setResult(await api.submitJob(body as never));
    void qc.invalidateQueries({ queryKey: ['jobs'] });
  });

  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setResult(null);
    const fd = new FormData(e.currentTarget);
    const get = (k: string) => String(fd.get(k) ?? '').trim();
    let pkg = get('package');
    let version = get('version');
    if (apt && pkg.includes('=') && !version) [pkg, version] = [pkg.slice(0, pkg.indexOf('=')), pkg.slice(pkg.indexOf('=') + 1)];
    const env = get('environment');
    const body: Record<string, unknown> = {
      package: pkg,
      version,
      arch_list: arches.length ? arches : get('arch_any') || 'any',
      dist: get('dist'),
      suite,
      format: get('format'),
      method_type: apt ? 'apt' : get('method_type'),
      uri: apt ? '' : get('uri'),
      vcs_id: apt ? '' : get('vcs_id'),
    };
    if (env === '(none)') body.environment = null;
    else if (env) body.environment = env;
    const check = SubmitFromHook.safeParse(body);
    const errs = check.success ? {} : issues(check.error);
    if (!apt && !body.uri) errs.uri ??= `a ${String(body.method_type)} URL is needed`;
    setErrors(errs);
    if (Object.keys(errs).length === 0) void submit.run(body);
  };

  return (
    <form onSubmit={onSubmit} className="form" aria-label={apt ? 'submit from apt' : 'submit from a URL'} noValidate>
      <ErrorNote error={lookups.error} />
      {apt ? (
        <Field label="Package (package=version)" error={errors.package}>
          <input name="package" required placeholder="hello=2.10-3" />
        </Field>
      ) : (
        <>
          <Field label="Method" error={errors.method_type}>
            <select name="method_type" defaultValue="git">
              <option value="git">git</option>
              <option value="svn">svn</option>
              <option value="dsc">dsc (URL of a .dsc)</option>
            </select>
          </Field>
          <Field label="URL" error={errors.uri}>
            <input name="uri" required placeholder="https://salsa.debian.org/…/hello.git" />
          </Field>
          <Field label="Revision (branch, tag or commit)" error={errors.vcs_id}>
            <input name="vcs_id" placeholder="HEAD" />
          </Field>
          <Field label="Package" error={errors.package}>
            <input name="package" required />
          </Field>
        </>
      )}
      <Field label="Version" error={errors.version} hint={apt ? 'or give it after = above' : undefined}>
        <input name="version" required={!apt} />
      </Field>
      <Field label="Distribution" error={errors.dist}>
        <select name="dist">
          {l?.distributions.map((d) => <option key={d.id}>{d.name}</option>)}
        </select>
      </Field>
      <Field label="Suite" error={errors.suite}>
        <select
          name="suite"
          value={suite}
          onChange={(e) => {
            setSuite(e.target.value);
            setArches([]);
          }}
        >
          <option value="">choose a suite</option>
          {l?.suites.map((d) => <option key={d.id}>{d.name}</option>)}
        </select>
      </Field>
      <Field label="Format" error={errors.format}>
        <select name="format">
          {l?.formats.map((d) => <option key={d.id}>{d.name}</option>)}
        </select>
      </Field>
      <fieldset className="field">
        <legend>Architectures</legend>
        {suite && suiteArches.length === 0 ? <span className="error">Suite {suite} has no architectures: map some on the Lookups screen.</span> : null}
        {suiteArches.map((sa) => (
          <label key={sa.id} className="check">
            <input
              type="checkbox"
              checked={arches.includes(sa.arch)}
              onChange={(e) => setArches(e.target.checked ? [...arches, sa.arch] : arches.filter((a) => a !== sa.arch))}
            />
            {sa.arch} <span className="muted">(weight {sa.masterWeight})</span>
          </label>
        ))}
        <label className="check">
          none ticked:
          <select name="arch_any" defaultValue="any" aria-label="architecture list when none ticked">
            <option value="any">any (every mapped architecture)</option>
            <option value="all">all (architecture-independent)</option>
          </select>
        </label>
        {errors.arch_list ? <span className="error">{errors.arch_list}</span> : null}
      </fieldset>
      <Field label="Build environment" error={errors.environment}>
        <select name="environment" defaultValue="">
          <option value="">every mapped environment</option>
          <option value="(none)">no environment</option>
          {envs.map((e) => <option key={e}>{e}</option>)}
        </select>
      </Field>
      <div className="row">
        <button type="submit" className="primary" disabled={submit.pending}>
          Submit
        </button>
        <ErrorNote error={submit.error} />
      </div>
      <Result r={result} />
    </form>
  );
}

function InstanceForm() {
  const api = useApi();
  const qc = useQueryClient();
  const instances = useQuery({ queryKey: ['packageinstances'], queryFn: ({ signal }) => api.packageInstances(signal) });
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [result, setResult] = useState<SubmitJobResponse | null>(null);
  const names = useMemo(() => [...new Set(instances.data?.map((i) => i.package.name) ?? [])].sort(), [instances.data]);
  const submit = useAction(async (body: unknown) => {
    setResult(await api.submitJob(body as never));
    void qc.invalidateQueries({ queryKey: ['jobs'] });
  });
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setResult(null);
    const fd = new FormData(e.currentTarget);
    const get = (k: string) => String(fd.get(k) ?? '').trim();
    const body: Record<string, unknown> = { packageinstanceId: Number(get('packageinstanceId')) || undefined };
    if (get('uri')) {
      body.method_type = get('method_type');
      body.uri = get('uri');
      body.vcs_id = get('vcs_id');
    }
    const check = SubmitForInstance.safeParse(body);
    const errs = check.success ? {} : issues(check.error);
    if (errs.packageinstanceId) errs.packageinstanceId = 'choose a package instance';
    setErrors(errs);
    if (Object.keys(errs).length === 0) void submit.run(body);
  };
  return (
    <form onSubmit={onSubmit} className="form" aria-label="submit for a package instance" noValidate>
      <ErrorNote error={instances.error} />
      <Field label="Package">
        <select value={name} onChange={(e) => setName(e.target.value)}>
          <option value="">choose a package</option>
          {names.map((n) => <option key={n}>{n}</option>)}
        </select>
      </Field>
      <Field label="Package instance" error={errors.packageinstanceId}>
        <select name="packageinstanceId">
          <option value="">choose an instance</option>
          {instances.data
            ?.filter((i) => i.package.name === name)
            .map((i) => (
              <option key={i.id} value={i.id}>
                {i.package.version} {i.distribution.name}/{i.suite.name}/{i.arch.name}/{i.format.name}
                {i.build_env ? `/${i.build_env.name}` : ''}
                {i.master ? ' (master)' : ''}
              </option>
            ))}
        </select>
      </Field>
      <p className="muted">Leave the source empty to build from the last source used for this instance.</p>
      <Field label="Method" error={errors.method_type}>
        <select name="method_type" defaultValue="git">
          <option>git</option>
          <option>svn</option>
          <option>dsc</option>
          <option>apt</option>
        </select>
      </Field>
      <Field label="URL" error={errors.uri}>
        <input name="uri" />
      </Field>
      <Field label="Revision" error={errors.vcs_id}>
        <input name="vcs_id" />
      </Field>
      <div className="row">
        <button type="submit" className="primary" disabled={submit.pending}>
          Submit
        </button>
        <ErrorNote error={submit.error} />
      </div>
      <Result r={result} />
    </form>
  );
}

function UploadForm() {
  const api = useApi();
  const qc = useQueryClient();
  const lookups = useLookups();
  const l = lookups.data;
  const [suite, setSuite] = useState('');
  const [arches, setArches] = useState<string[]>([]);
  const [errors, setErrors] = useState<Errors>({});
  const [result, setResult] = useState<UploadResponse | null>(null);
  const suiteArches = useMemo(() => l?.suiteArches.filter((sa) => sa.suite === suite) ?? [], [l, suite]);
  const upload = useAction(async (files: File[], fields: Record<string, string>) => {
    setResult(await api.uploadSource(files, fields));
    void qc.invalidateQueries({ queryKey: ['jobs'] });
  });
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setResult(null);
    const fd = new FormData(e.currentTarget);
    const files = fd.getAll('files').filter((f): f is File => f instanceof File && f.name !== '');
    const errs: Errors = {};
    const main = files.filter((f) => /\.(dsc|changes)$/.test(f.name));
    if (files.length === 0) errs.files = 'choose the .dsc (or .changes) and every file it lists';
    else if (main.length === 0) errs.files = 'include a .dsc or a .changes file';
    // A .changes names its target suite itself; a lone .dsc needs one chosen here.
    if (!suite && !main.some((f) => f.name.endsWith('.changes'))) errs.suite = 'choose the target suite';
    setErrors(errs);
    if (Object.keys(errs).length) return;
    const fields: Record<string, string> = {
      suite,
      distribution: String(fd.get('distribution') ?? ''),
      format: String(fd.get('format') ?? ''),
      architecture_list: arches.join(' '),
    };
    void upload.run(files, fields);
  };
  return (
    <form className="form" aria-label="upload a source package" onSubmit={onSubmit} noValidate>
      <ErrorNote error={lookups.error} />
      <Field label=".dsc or .changes and the files it lists" error={errors.files} hint="select them all at once; checksums are verified before anything is stored">
        <input type="file" name="files" multiple />
      </Field>
      <Field label="Distribution">
        <select name="distribution">
          {l?.distributions.map((d) => <option key={d.id}>{d.name}</option>)}
        </select>
      </Field>
      <Field label="Suite" error={errors.suite} hint="a .changes may name it instead">
        <select
          name="suite"
          value={suite}
          onChange={(e) => {
            setSuite(e.target.value);
            setArches([]);
          }}
        >
          <option value="">from the .changes</option>
          {l?.suites.map((d) => <option key={d.id}>{d.name}</option>)}
        </select>
      </Field>
      <Field label="Format">
        <select name="format">
          {l?.formats.map((d) => <option key={d.id}>{d.name}</option>)}
        </select>
      </Field>
      <fieldset className="field">
        <legend>Architectures (none ticked: the .dsc's own list)</legend>
        {suiteArches.map((sa) => (
          <label key={sa.id} className="check">
            <input
              type="checkbox"
              checked={arches.includes(sa.arch)}
              onChange={(e) => setArches(e.target.checked ? [...arches, sa.arch] : arches.filter((a) => a !== sa.arch))}
            />
            {sa.arch}
          </label>
        ))}
      </fieldset>
      <div className="row">
        <button type="submit" className="primary" disabled={upload.pending}>
          Upload and submit
        </button>
        <ErrorNote error={upload.error} />
      </div>
      {result ? (
        <p className="ok" role="status" data-testid="upload-result">
          Uploaded {result.package} {result.version} ({result.files.length} files); created {result.jobIds.length} job{result.jobIds.length === 1 ? '' : 's'}:{' '}
          {result.jobIds.map((id, i) => (
            <span key={id}>
              {i ? ', ' : ''}
              <Link to={`/ui/jobs/${id}`}>{id}</Link>
            </span>
          ))}
          {result.cancelled.length ? ` (superseded ${result.cancelled.join(', ')})` : ''}
        </p>
      ) : null}
    </form>
  );
}
