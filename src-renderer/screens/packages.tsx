// Packages (name + version) and package instances (a package for one dist/suite/arch/format/env).
import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { useApi } from '../lib/context';
import { useLookups } from '../lib/queries';
import { ConfirmButton, ErrorNote, Field, errorText, useAction, usePaged } from '../components/common';

export function PackagesScreen() {
  const api = useApi();
  const qc = useQueryClient();
  const packages = useQuery({ queryKey: ['packages'], queryFn: ({ signal }) => api.packages(signal) });
  const rows = packages.data ?? [];
  const { slice, pager } = usePaged(rows, 25);
  const active = useQuery({
    queryKey: ['packages-active', slice.map((p) => p.id)],
    queryFn: async ({ signal }) => {
      const flags = await Promise.all(slice.map((p) => api.packageActive(p.id, signal).catch(() => false)));
      return new Set(slice.filter((_, i) => flags[i]).map((p) => p.id));
    },
    enabled: slice.length > 0,
  });
  const [rowErrors, setRowErrors] = useState<Record<number, string>>({});
  const [rowDone, setRowDone] = useState<Record<number, string>>({});
  const add = useAction(async (name: string, version: string) => {
    await api.createPackage(name, version);
    add.setDone(`Added ${name} ${version}.`);
  }, () => void qc.invalidateQueries({ queryKey: ['packages'] }));
  const [formErr, setFormErr] = useState<Record<string, string>>({});
  const onAdd = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const name = String(fd.get('name') ?? '').trim();
    const version = String(fd.get('version') ?? '').trim();
    const errs: Record<string, string> = {};
    if (!name) errs.name = 'required';
    if (!version) errs.version = 'required';
    setFormErr(errs);
    if (!Object.keys(errs).length) void add.run(name, version);
  };
  const cancel = async (id: number) => {
    setRowErrors(({ [id]: _, ...r }) => r);
    try {
      await api.cancelPackage(id);
      setRowDone((d) => ({ ...d, [id]: 'cancel requested' }));
      void qc.invalidateQueries({ queryKey: ['packages-active'] });
    } catch (e) {
      setRowErrors((r) => ({ ...r, [id]: errorText(e) }));
    }
  };
  return (
    <section aria-labelledby="pk-title">
      <h1 id="pk-title">Packages</h1>
      <form className="form inline" onSubmit={onAdd} aria-label="add a package" noValidate>
        <Field label="Name" error={formErr.name}>
          <input name="name" />
        </Field>
        <Field label="Version" error={formErr.version}>
          <input name="version" />
        </Field>
        <button type="submit" className="primary" disabled={add.pending}>
          Add package
        </button>
        <ErrorNote error={add.error} />
        {add.done ? <span className="ok">{add.done}</span> : null}
      </form>
      <ErrorNote error={packages.error} />
      <table className="compact" data-testid="packages">
        <thead>
          <tr>
            <th>ID</th>
            <th>Name</th>
            <th>Version</th>
            <th>Active builds</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {slice.map((p) => {
            const isActive = active.data?.has(p.id);
            return (
              <tr key={p.id} className={isActive ? 'row-building' : ''}>
                <td>{p.id}</td>
                <td>
                  <Link to={`/ui/jobs?package=${encodeURIComponent(p.name)}`}>{p.name}</Link>
                </td>
                <td>{p.version}</td>
                <td>{isActive ? 'yes' : ''}</td>
                <td>
                  {isActive ? (
                    <ConfirmButton
                      label="Cancel active builds"
                      question={`Cancel every unfinished build of ${p.name} ${p.version}?`}
                      confirmLabel="Cancel builds"
                      danger
                      onConfirm={() => cancel(p.id)}
                    />
                  ) : null}
                  {rowErrors[p.id] ? <span className="error" role="alert">{rowErrors[p.id]}</span> : null}
                  {rowDone[p.id] ? <span className="ok">{rowDone[p.id]}</span> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {pager}
    </section>
  );
}

export function InstancesScreen() {
  const api = useApi();
  const qc = useQueryClient();
  const lookups = useLookups();
  const packages = useQuery({ queryKey: ['packages'], queryFn: ({ signal }) => api.packages(signal) });
  const instances = useQuery({ queryKey: ['packageinstances'], queryFn: ({ signal }) => api.packageInstances(signal) });
  const { slice, pager } = usePaged(instances.data ?? [], 25);
  const [pkg, setPkg] = useState('');
  const [rowErrors, setRowErrors] = useState<Record<number, string>>({});
  const [formErr, setFormErr] = useState<Record<string, string>>({});
  const refresh = () => void qc.invalidateQueries({ queryKey: ['packageinstances'] });
  const add = useAction(async (f: Parameters<typeof api.createPackageInstance>[0]) => {
    await api.createPackageInstance(f);
    add.setDone(`Added ${f.package} ${f.version}.`);
  }, refresh);
  const names = [...new Set(packages.data?.map((p) => p.name) ?? [])].sort();
  const versions = packages.data?.filter((p) => p.name === pkg).map((p) => p.version) ?? [];
  const l = lookups.data;
  const onAdd = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const n = (k: string) => Number(fd.get(k) ?? 0);
    const errs: Record<string, string> = {};
    for (const k of ['arch_id', 'suite_id', 'dist_id', 'format_id']) if (!n(k)) errs[k] = 'required';
    if (!pkg) errs.package = 'choose a package';
    if (!fd.get('version')) errs.version = 'choose a version';
    setFormErr(errs);
    if (Object.keys(errs).length) return;
    void add.run({
      package: pkg,
      version: String(fd.get('version')),
      arch_id: n('arch_id'),
      suite_id: n('suite_id'),
      dist_id: n('dist_id'),
      format_id: n('format_id'),
      build_env_id: n('build_env_id') || '',
      master: fd.get('slave') !== 'on',
    });
  };
  // Shown at once; undone if the controller refuses.
  const [pendingMaster, setPendingMaster] = useState<Record<number, boolean>>({});
  const toggle = async (id: number, master: boolean) => {
    setRowErrors(({ [id]: _, ...r }) => r);
    setPendingMaster((p) => ({ ...p, [id]: master }));
    try {
      await api.setMaster(id, master);
      refresh();
    } catch (e) {
      setPendingMaster(({ [id]: _, ...p }) => p);
      setRowErrors((r) => ({ ...r, [id]: errorText(e) }));
    }
  };
  const opts = (rows: Array<{ id: number; name: string }> | undefined) => [
    <option key="" value="">
      choose
    </option>,
    ...(rows ?? []).map((r) => (
      <option key={r.id} value={r.id}>
        {r.name}
      </option>
    )),
  ];
  return (
    <section aria-labelledby="pi-title">
      <h1 id="pi-title">Package instances</h1>
      <form className="form inline" onSubmit={onAdd} aria-label="add a package instance" noValidate>
        <Field label="Package" error={formErr.package}>
          <select value={pkg} onChange={(e) => setPkg(e.target.value)}>
            <option value="">choose</option>
            {names.map((n) => <option key={n}>{n}</option>)}
          </select>
        </Field>
        <Field label="Version" error={formErr.version}>
          <select name="version">{versions.map((v) => <option key={v}>{v}</option>)}</select>
        </Field>
        <Field label="Architecture" error={formErr.arch_id}>
          <select name="arch_id">{opts(l?.arches)}</select>
        </Field>
        <Field label="Suite" error={formErr.suite_id}>
          <select name="suite_id">{opts(l?.suites)}</select>
        </Field>
        <Field label="Distribution" error={formErr.dist_id}>
          <select name="dist_id">{opts(l?.distributions)}</select>
        </Field>
        <Field label="Format" error={formErr.format_id}>
          <select name="format_id">{opts(l?.formats)}</select>
        </Field>
        <Field label="Environment">
          <select name="build_env_id">
            <option value="">Not specified</option>
            {l?.buildEnvs.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </Field>
        <label className="check">
          <input type="checkbox" name="slave" /> Slave (not master)
        </label>
        <button type="submit" className="primary" disabled={add.pending}>
          Add instance
        </button>
        <ErrorNote error={add.error} />
        {add.done ? <span className="ok">{add.done}</span> : null}
      </form>
      <ErrorNote error={instances.error} />
      <table className="compact" data-testid="instances">
        <thead>
          <tr>
            <th>ID</th>
            <th>Package</th>
            <th>Arch</th>
            <th>Dist</th>
            <th>Format</th>
            <th>Suite</th>
            <th>Env</th>
            <th>Master</th>
          </tr>
        </thead>
        <tbody>
          {slice.map((i) => (
            <tr key={i.id}>
              <td>{i.id}</td>
              <td>
                {i.package.name} {i.package.version}
              </td>
              <td>{i.arch.name}</td>
              <td>{i.distribution.name}</td>
              <td>{i.format.name}</td>
              <td>{i.suite.name}</td>
              <td>{i.build_env?.name ?? '—'}</td>
              <td>
                <label className="check">
                  <input
                    type="checkbox"
                    checked={pendingMaster[i.id] ?? i.master}
                    onChange={(e) => void toggle(i.id, e.target.checked)}
                    aria-label={`master flag of instance ${i.id}`}
                  />
                  {(pendingMaster[i.id] ?? i.master) ? 'master' : 'slave'}
                </label>
                {rowErrors[i.id] ? <span className="error" role="alert">{rowErrors[i.id]}</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {pager}
    </section>
  );
}
