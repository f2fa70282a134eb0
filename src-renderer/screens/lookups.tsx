// Lookups: arches, suites with their architectures and master weights, distributions, formats,
// statuses (read-only in practice), build environments with their suite-arch mappings, and the
// blacklist with help saying what each field matches.
import { useState, type FormEvent, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { NavLink, useParams } from 'react-router-dom';
import type { LookupsResponse } from '@shared/api';
import { useApi } from '../lib/context';
import { useLookups } from '../lib/queries';
import type { LookupKind } from '../lib/api';
import { ErrorNote, Field, errorText, useAction, usePaged } from '../components/common';

const SECTIONS: Array<[string, string]> = [
  ['arches', 'Architectures'],
  ['suites', 'Suites'],
  ['dists', 'Distributions'],
  ['formats', 'Formats'],
  ['statuses', 'Statuses'],
  ['envs', 'Build environments'],
  ['blacklist', 'Blacklist rules'],
];

type NameList = 'arches' | 'suites' | 'distributions' | 'formats' | 'statuses' | 'buildEnvs';

export function LookupsScreen() {
  const { section = 'arches' } = useParams();
  const lookups = useLookups();
  const l = lookups.data;
  let body: ReactNode = null;
  if (l) {
    switch (section) {
      case 'arches':
        body = <NamedSection kind="arch" list="arches" title="Architectures" l={l} />;
        break;
      case 'suites':
        body = (
          <>
            <NamedSection kind="suite" list="suites" title="Suites" l={l} />
            <SuiteArches l={l} />
          </>
        );
        break;
      case 'dists':
        body = <NamedSection kind="dist" list="distributions" title="Distributions" l={l} />;
        break;
      case 'formats':
        body = <NamedSection kind="format" list="formats" title="Formats" l={l} />;
        break;
      case 'statuses':
        body = (
          <NamedSection kind="status" list="statuses" title="Statuses" l={l}>
            <p className="warn" role="note">
              Statuses are NOT to be edited under normal use: workers and pyBit clients compare these seven names literally. This list is read-only here.
            </p>
          </NamedSection>
        );
        break;
      case 'envs':
        body = (
          <>
            <NamedSection kind="env" list="buildEnvs" title="Build environments" l={l} />
            <EnvMappings l={l} />
          </>
        );
        break;
      case 'blacklist':
        body = <Blacklist l={l} />;
        break;
      default:
        body = <p className="error">No lookup called {section}.</p>;
    }
  }
  return (
    <section aria-labelledby="lk-title" className="lookups">
      <h1 id="lk-title">Lookups</h1>
      <div className="side-layout">
        <nav aria-label="lookup tables" className="side">
          {SECTIONS.map(([s, label]) => (
            <NavLink key={s} to={`/ui/lookups/${s}`} className={({ isActive }) => (isActive || (s === 'arches' && section === 'arches') ? 'active' : '')}>
              {label}
            </NavLink>
          ))}
        </nav>
        <div>
          <ErrorNote error={lookups.error} />
          {body}
        </div>
      </div>
    </section>
  );
}

function useRefresh() {
  const qc = useQueryClient();
  return () => void qc.invalidateQueries({ queryKey: ['lookups'] });
}

function DeleteButton({ path, id, label }: { path: string; id: number; label: string }) {
  const api = useApi();
  const refresh = useRefresh();
  const del = useAction(() => api.deleteRow(path, id), refresh);
  return (
    <>
      <button type="button" className="small" aria-label={`delete ${label}`} disabled={del.pending} onClick={() => void del.run()}>
        Delete
      </button>
      <ErrorNote error={del.error} />
    </>
  );
}

function NamedSection({ kind, list, title, l, children }: { kind: LookupKind; list: NameList; title: string; l: LookupsResponse; children?: ReactNode }) {
  const api = useApi();
  const refresh = useRefresh();
  const readOnly = kind === 'status';
  const rows = l[list];
  const { slice, pager } = usePaged(rows, 20);
  const [nameErr, setNameErr] = useState<string | null>(null);
  const add = useAction(async (name: string) => {
    await api.createLookup(kind, name);
    add.setDone(`Added ${name}.`);
  }, refresh);
  const onAdd = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const name = String(new FormData(form).get('name') ?? '').trim();
    if (!name) return setNameErr('required');
    if (/[\u0000-\u001f\u007f]/.test(name)) return setNameErr('must not contain control characters');
    if (kind !== 'env' && rows.some((r) => r.name === name)) return setNameErr(`${name} already exists`);
    setNameErr(null);
    void add.run(name).then((ok) => ok && form.reset());
  };
  return (
    <div className="lookup" data-testid={`lookup-${kind}`}>
      <h2>{title}</h2>
      {children}
      {!readOnly ? (
        <form className="form inline" onSubmit={onAdd} aria-label={`add ${title.toLowerCase()}`} noValidate>
          <Field label="Name" error={nameErr}>
            <input name="name" />
          </Field>
          <button type="submit" className="primary" disabled={add.pending}>
            Add
          </button>
          <ErrorNote error={add.error} />
          {add.done ? <span className="ok">{add.done}</span> : null}
        </form>
      ) : null}
      <table className="compact">
        <thead>
          <tr>
            <th>ID</th>
            <th>Name</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {slice.map((r) => (
            <tr key={r.id}>
              <td>{r.id}</td>
              <td>{r.name}</td>
              <td>{readOnly ? null : <DeleteButton path={kind} id={r.id} label={r.name} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {pager}
    </div>
  );
}

function SuiteArches({ l }: { l: LookupsResponse }) {
  const api = useApi();
  const refresh = useRefresh();
  const [errs, setErrs] = useState<Record<string, string>>({});
  const add = useAction(async (suiteId: number, archId: number, weight: number) => {
    await api.createSuiteArch(suiteId, archId, weight);
    add.setDone('Mapping added.');
  }, refresh);
  const onAdd = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const suiteId = Number(fd.get('suite_id'));
    const archId = Number(fd.get('arch_id'));
    const w = String(fd.get('master_weight') ?? '').trim();
    const e2: Record<string, string> = {};
    if (!suiteId) e2.suite = 'choose a suite';
    if (!archId) e2.arch = 'choose an architecture';
    if (w !== '' && !/^-?\d+$/.test(w)) e2.weight = 'must be a whole number';
    if (suiteId && archId && l.suiteArches.some((sa) => sa.suiteId === suiteId && sa.archId === archId)) e2.arch = 'this suite already has this architecture';
    setErrs(e2);
    if (!Object.keys(e2).length) void add.run(suiteId, archId, w === '' ? 0 : Number(w));
  };
  return (
    <div className="lookup" data-testid="suitearches">
      <h2>Suite architectures</h2>
      <p className="muted">A submission for a suite fans out to one job per architecture mapped here; the highest weight is the suite's master architecture.</p>
      <form className="form inline" onSubmit={onAdd} aria-label="add a suite architecture" noValidate>
        <Field label="Suite" error={errs.suite}>
          <select name="suite_id">
            <option value="">choose</option>
            {l.suites.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Architecture" error={errs.arch}>
          <select name="arch_id">
            <option value="">choose</option>
            {l.arches.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Master weight" error={errs.weight}>
          <input name="master_weight" inputMode="numeric" defaultValue="0" size={4} />
        </Field>
        <button type="submit" className="primary" disabled={add.pending}>
          Add mapping
        </button>
        <ErrorNote error={add.error} />
        {add.done ? <span className="ok">{add.done}</span> : null}
      </form>
      <table className="compact">
        <thead>
          <tr>
            <th>Suite/arch</th>
            <th>Master weight</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {l.suiteArches.map((sa) => (
            <tr key={sa.id}>
              <td>
                {sa.suite}/{sa.arch}
              </td>
              <td>{sa.masterWeight}</td>
              <td>
                <DeleteButton path="suitearch" id={sa.id} label={`${sa.suite}/${sa.arch}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EnvMappings({ l }: { l: LookupsResponse }) {
  const api = useApi();
  const refresh = useRefresh();
  const [errs, setErrs] = useState<Record<string, string>>({});
  const add = useAction(async (envId: number, saId: number) => {
    await api.createEnvSuiteArch(envId, saId);
    add.setDone('Mapping added.');
  }, refresh);
  const onAdd = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const envId = Number(fd.get('buildenv_id'));
    const saId = Number(fd.get('suitearch_id'));
    const e2: Record<string, string> = {};
    if (!envId) e2.env = 'choose an environment';
    if (!saId) e2.sa = 'choose a suite architecture';
    setErrs(e2);
    if (!Object.keys(e2).length) void add.run(envId, saId);
  };
  return (
    <div className="lookup" data-testid="env-mappings">
      <h2>Environment mappings</h2>
      <p className="muted">A suite-arch mapped to environments builds once per environment; unmapped ones build without an environment.</p>
      <form className="form inline" onSubmit={onAdd} aria-label="map an environment" noValidate>
        <Field label="Environment" error={errs.env}>
          <select name="buildenv_id">
            <option value="">choose</option>
            {l.buildEnvs.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Suite/arch" error={errs.sa}>
          <select name="suitearch_id">
            <option value="">choose</option>
            {l.suiteArches.map((s) => (
              <option key={s.id} value={s.id}>
                {s.suite}/{s.arch}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" className="primary" disabled={add.pending}>
          Add mapping
        </button>
        <ErrorNote error={add.error} />
        {add.done ? <span className="ok">{add.done}</span> : null}
      </form>
      <table className="compact">
        <thead>
          <tr>
            <th>Environment</th>
            <th>Suite/arch</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {l.buildEnvSuiteArches.map((m) => (
            <tr key={m.id}>
              <td>{m.buildEnv}</td>
              <td>
                {m.suite}/{m.arch}
              </td>
              <td>
                <DeleteButton path="buildenv_suitearch" id={m.id} label={`${m.buildEnv} on ${m.suite}/${m.arch}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const BLACKLIST_FIELDS: Array<[string, string]> = [
  ['name', 'the source package name, e.g. (.*-dev) skips every package whose name contains “-dev”'],
  ['vcs_uri', 'the source URL of the submission, e.g. (.*/users/.*) skips user branches'],
];

function Blacklist({ l }: { l: LookupsResponse }) {
  const api = useApi();
  const refresh = useRefresh();
  const [errs, setErrs] = useState<Record<string, string>>({});
  const [field, setField] = useState('name');
  const add = useAction(async (f: string, regex: string) => {
    await api.createBlacklist(f, regex);
    add.setDone('Rule added.');
  }, refresh);
  const onAdd = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const regex = String(new FormData(e.currentTarget).get('regex') ?? '');
    const e2: Record<string, string> = {};
    if (!regex) e2.regex = 'required';
    else {
      try {
        new RegExp(regex);
      } catch (x) {
        e2.regex = `not a valid regular expression: ${errorText(x)}`;
      }
    }
    setErrs(e2);
    if (!Object.keys(e2).length) void add.run(field, regex);
  };
  return (
    <div className="lookup" data-testid="blacklist">
      <h2>Blacklist rules</h2>
      <div className="help" role="note">
        <p>A submission matching a rule creates no job. The regular expression is searched for anywhere in the value (not anchored). Fields:</p>
        <dl>
          {BLACKLIST_FIELDS.map(([f, what]) => (
            <div key={f}>
              <dt>
                <code>{f}</code>
              </dt>
              <dd>matches {what}</dd>
            </div>
          ))}
        </dl>
        <p>Other field names are stored but match nothing.</p>
      </div>
      <form className="form inline" onSubmit={onAdd} aria-label="add a blacklist rule" noValidate>
        <Field label="Field" hint={BLACKLIST_FIELDS.find(([f]) => f === field)?.[1]}>
          <select value={field} onChange={(e) => setField(e.target.value)}>
            {BLACKLIST_FIELDS.map(([f]) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </Field>
        <Field label="Regular expression" error={errs.regex}>
          <input name="regex" placeholder="(.*-dev)" />
        </Field>
        <button type="submit" className="primary" disabled={add.pending}>
          Add rule
        </button>
        <ErrorNote error={add.error} />
        {add.done ? <span className="ok">{add.done}</span> : null}
      </form>
      <table className="compact">
        <thead>
          <tr>
            <th>Field</th>
            <th>Regex</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {l.blacklist.map((b) => (
            <tr key={b.id}>
              <td>{b.field}</td>
              <td>
                <code>{b.regex}</code>
              </td>
              <td>
                <DeleteButton path="blacklist" id={b.id} label={`rule ${b.field} ${b.regex}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
