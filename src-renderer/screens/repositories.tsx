// Repositories: webhook sources (git repositories whose pushes queue builds, administrators
// only) and what each suite's apt repository holds, with the sources.list line to use it.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { RepositoryCreate, WEBHOOK_PROVIDERS, type RepositoryInfo, type WebhookProvider } from '@shared/hooks-api';
import type { RepoEntry, RepoListing } from '@shared/repo-api';
import { useConnection } from '../lib/context';
import { useServerEvent } from '../lib/events';
import { ApiError, type Http } from '../lib/http';
import {
  aptSourcesLine,
  createRepository,
  deleteRepository,
  keyringPath,
  listDistributions,
  listRepositories,
  repoFileUrl,
  repoListing,
  rotateSecret,
} from '../lib/repositories-api';
import { ConfirmButton, ErrorNote, Field, Time, errorText, useAction } from '../components/common';

export function RepositoriesScreen() {
  return (
    <section aria-labelledby="repositories-title">
      <h1 id="repositories-title">Repositories</h1>
      <WebhookSources />
      <AptRepositories />
    </section>
  );
}

// ---- copying --------------------------------------------------------------------------------

/** A read-only value with a copy button (clipboard API, or a selection copy where it is missing). */
function CopyField({ label, value, testId, wide }: { label: string; value: string; testId?: string; wide?: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  const [note, setNote] = useState<string | null>(null);
  const copy = async () => {
    setNote(null);
    try {
      await navigator.clipboard.writeText(value);
      setNote('Copied.');
    } catch {
      // No clipboard API outside secure contexts (plain http to another host).
      input.current?.select();
      setNote(document.execCommand?.('copy') ? 'Copied.' : 'Selected: copy it with the keyboard.');
    }
  };
  return (
    <span className="row copy-field">
      <input
        ref={input}
        readOnly
        value={value}
        aria-label={label}
        data-testid={testId}
        size={Math.min(wide ? 130 : 60, value.length + 2)}
        className="hash"
        onFocus={(e) => e.currentTarget.select()}
      />
      <button type="button" onClick={() => void copy()} aria-label={`copy ${label}`}>
        Copy
      </button>
      {note ? (
        <span className="ok" role="status">
          {note}
        </span>
      ) : null}
    </span>
  );
}

// ---- webhook sources ------------------------------------------------------------------------

const PROVIDER_NAMES: Record<WebhookProvider, string> = { github: 'GitHub', gitlab: 'GitLab' };

/** A secret shown once, after a create or a rotation, with how to enter it at the provider. */
interface Revealed {
  name: string;
  provider: WebhookProvider;
  webhookUrl: string;
  secret: string;
  rotated: boolean;
}

function SecretPanel({ r, onDone }: { r: Revealed; onDone: () => void }) {
  return (
    <div className="note" role="region" aria-label="webhook secret" data-testid="repository-secret">
      <p>
        {r.rotated ? (
          <>
            <strong>{r.name}</strong> has a new secret; the old one no longer works. Enter it at {PROVIDER_NAMES[r.provider]} now: it is not shown again.
          </>
        ) : (
          <>
            <strong>{r.name}</strong> is registered. Copy the secret now: it is not shown again (a new one can be made later).
          </>
        )}
      </p>
      <dl className="facts">
        <dt>Webhook URL</dt>
        <dd>
          <CopyField label="webhook URL" value={r.webhookUrl} testId="created-webhook-url" wide />
        </dd>
        <dt>Secret</dt>
        <dd>
          <CopyField label="webhook secret" value={r.secret} testId="created-secret" />
        </dd>
      </dl>
      {r.provider === 'github' ? (
        <p className="hint" data-testid="provider-hint">
          On GitHub: repository Settings → Webhooks → Add webhook. Payload URL: the webhook URL above; Content type: <code>application/json</code>; Secret: the
          secret above; events: “Just the push event”.
        </p>
      ) : (
        <p className="hint" data-testid="provider-hint">
          On GitLab: project Settings → Webhooks → Add new webhook. URL: the webhook URL above; <strong>Secret token</strong>: the secret above; trigger: “Push
          events”.
        </p>
      )}
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}

type Errors = Record<string, string>;

const EMPTY_FORM = { name: '', provider: 'github' as WebhookProvider, cloneUrl: '', suite: '', dist: '', branch: '', format: '' };

function AddRepositoryForm({ http, onCreated }: { http: Http; onCreated: (r: Revealed) => void }) {
  const [f, setF] = useState(EMPTY_FORM);
  const [errors, setErrors] = useState<Errors>({});
  const qc = useQueryClient();
  const act = useAction(async (body: RepositoryCreate) => {
    const created = await createRepository(http, body);
    setF(EMPTY_FORM);
    onCreated({ name: created.name, provider: created.provider, webhookUrl: created.webhookUrl, secret: created.secret, rotated: false });
    await qc.invalidateQueries({ queryKey: ['repositories'] });
  });
  const set = (k: keyof typeof EMPTY_FORM) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    // Empty optional fields are left out rather than sent as '' (which the schema refuses).
    const body = Object.fromEntries(Object.entries(f).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, v.trim()]));
    const r = RepositoryCreate.safeParse(body);
    if (!r.success) {
      const errs: Errors = {};
      for (const i of r.error.issues) errs[String(i.path[0] ?? 'form')] ??= i.message;
      setErrors(errs);
      return;
    }
    setErrors({});
    void act.run(r.data);
  };
  // A server refusal names its field ("name: … already exists"): show it beside that field.
  const serverField = act.error instanceof ApiError ? /^(\w+):\s*(.*)$/.exec(act.error.message) : null;
  const err = (k: string) => errors[k] ?? (serverField?.[1] === k ? serverField[2]! : null);
  return (
    <>
      <h3 id="add-repository-title">Add a repository</h3>
      <form className="form" onSubmit={onSubmit} aria-label="add a webhook repository" noValidate>
        <Field label="Name" error={err('name')} hint="Letters, digits, '.', '_', '+', '-'; appears in the webhook URL.">
          <input value={f.name} onChange={set('name')} autoComplete="off" />
        </Field>
        <Field label="Provider" error={err('provider')}>
          <select value={f.provider} onChange={set('provider')}>
            {WEBHOOK_PROVIDERS.map((p) => (
              <option key={p} value={p}>
                {PROVIDER_NAMES[p]}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Clone URL" error={err('cloneUrl')} hint="Where the controller reads debian/ and workers clone from.">
          <input value={f.cloneUrl} onChange={set('cloneUrl')} placeholder="https://github.com/you/package.git" autoComplete="off" />
        </Field>
        <div className="row">
          <Field label="Suite" error={err('suite')} hint="Default: the changelog's distribution.">
            <input value={f.suite} onChange={set('suite')} autoComplete="off" />
          </Field>
          <Field label="Distribution" error={err('dist')} hint="Default: the only one.">
            <input value={f.dist} onChange={set('dist')} autoComplete="off" />
          </Field>
          <Field label="Branch" error={err('branch')} hint="Default: every branch.">
            <input value={f.branch} onChange={set('branch')} autoComplete="off" />
          </Field>
        </div>
        <div className="row">
          <button type="submit" className="primary" disabled={act.pending}>
            {act.pending ? 'Adding…' : 'Add repository'}
          </button>
          {act.error && !serverField?.[1]?.match(/^(name|provider|cloneUrl|suite|dist|branch)$/) ? <ErrorNote error={act.error} /> : null}
          {errors.form ? <span className="error">{errors.form}</span> : null}
        </div>
      </form>
    </>
  );
}

function RepositoryRow({ r, http, onRotated }: { r: RepositoryInfo; http: Http; onRotated: (x: Revealed) => void }) {
  const qc = useQueryClient();
  const del = useAction(async () => {
    await deleteRepository(http, r.name);
    await qc.invalidateQueries({ queryKey: ['repositories'] });
  });
  const rotate = useAction(async () => {
    const s = await rotateSecret(http, r.name);
    onRotated({ name: s.name, provider: r.provider, webhookUrl: s.webhookUrl, secret: s.secret, rotated: true });
  });
  const target = [r.suite ? `suite ${r.suite}` : 'suite from changelog', r.dist ? `dist ${r.dist}` : null, r.branch ? `branch ${r.branch}` : 'every branch']
    .filter(Boolean)
    .join(', ');
  return (
    <tr data-testid={`repository-${r.name}`}>
      <td>{r.name}</td>
      <td>{PROVIDER_NAMES[r.provider]}</td>
      <td className="wrap">{r.cloneUrl}</td>
      <td>{target}</td>
      <td>{r.lastDeliveryAt ? <Time iso={r.lastDeliveryAt} /> : <span className="muted">never</span>}</td>
      <td>
        <CopyField label={`webhook URL of ${r.name}`} value={r.webhookUrl} />
      </td>
      <td>
        <div className="row">
          <ConfirmButton
            label="New secret"
            question={`Make a new secret for ${r.name}? Deliveries signed with the current one are refused until ${PROVIDER_NAMES[r.provider]} has the new one.`}
            confirmLabel="Make a new secret"
            onConfirm={() => rotate.run()}
          />
          <ConfirmButton
            label="Delete"
            danger
            question={`Delete the webhook repository ${r.name}? Pushes to it no longer queue builds; jobs already queued stay.`}
            confirmLabel={`Delete ${r.name}`}
            onConfirm={() => del.run()}
          />
        </div>
        <ErrorNote error={del.error ?? rotate.error} />
      </td>
    </tr>
  );
}

function WebhookSources() {
  const { api, conn } = useConnection();
  const http = api.http;
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const repos = useQuery({
    queryKey: ['repositories', conn.token],
    queryFn: ({ signal }) => listRepositories(http, signal),
    enabled: http.loggedIn,
    retry: (n, e) => !(e instanceof ApiError && e.status >= 400 && e.status < 500) && n < 2,
  });
  const status = repos.error instanceof ApiError ? repos.error.status : null;
  return (
    <section aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">Webhook sources</h2>
      <p className="muted">Git repositories on GitHub or GitLab whose pushes queue a build of the package at the pushed commit.</p>
      {!http.loggedIn ? (
        <p className="note" data-testid="webhooks-login-needed">
          Webhook sources are managed by administrators. <Link to="/ui/settings">Log in on the Settings screen</Link> with an administrator's user name and password or
          token to see and add them.
        </p>
      ) : status === 401 ? (
        <p className="note" data-testid="webhooks-login-needed">
          The controller refused the credential ({errorText(repos.error)}). <Link to="/ui/settings">Log in again on the Settings screen</Link>.
        </p>
      ) : status === 403 ? (
        <p className="note" data-testid="webhooks-not-admin">
          Only administrators manage webhook sources, and this credential is not an administrator's: a webhook secret lets anyone holding it queue builds.
        </p>
      ) : repos.error ? (
        <ErrorNote error={repos.error} />
      ) : !repos.data ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          {revealed ? <SecretPanel r={revealed} onDone={() => setRevealed(null)} /> : null}
          {repos.data.length === 0 ? (
            <p className="muted">No webhook sources yet.</p>
          ) : (
            <table className="compact" data-testid="repositories">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Provider</th>
                  <th>Clone URL</th>
                  <th>Builds</th>
                  <th>Last delivery</th>
                  <th>Webhook URL</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {repos.data.map((r) => (
                  <RepositoryRow key={r.id} r={r} http={http} onRotated={setRevealed} />
                ))}
              </tbody>
            </table>
          )}
          <AddRepositoryForm http={http} onCreated={setRevealed} />
        </>
      )}
    </section>
  );
}

// ---- apt repositories -----------------------------------------------------------------------

/** A Done build is published a moment after its status changes: look again after these delays. */
const PUBLISH_SETTLE_MS = [2_000, 8_000];

function AptRepositories() {
  const { api } = useConnection();
  const http = api.http;
  const qc = useQueryClient();
  const dists = useQuery({ queryKey: ['apt-repo'], queryFn: ({ signal }) => listDistributions(http, signal) });
  const publishing = dists.data?.publishing;
  // One pending round of refetches at a time, however many builds finish meanwhile.
  const timers = useRef<Array<ReturnType<typeof setTimeout>>>([]);
  useServerEvent((e) => {
    if (!publishing || e.type !== 'job.status' || e.status !== 'Done' || timers.current.length) return;
    timers.current = PUBLISH_SETTLE_MS.map((ms, i) =>
      setTimeout(() => {
        if (i === PUBLISH_SETTLE_MS.length - 1) timers.current = [];
        void qc.invalidateQueries({ queryKey: ['apt-repo'] });
      }, ms),
    );
  });
  useEffect(() => () => timers.current.forEach(clearTimeout), []);
  return (
    <section aria-labelledby="apt-title">
      <div className="row">
        <h2 id="apt-title">Apt repositories</h2>
        <button type="button" onClick={() => void qc.invalidateQueries({ queryKey: ['apt-repo'] })} disabled={dists.isFetching}>
          Refresh
        </button>
      </div>
      <ErrorNote error={dists.error} />
      {dists.data && dists.data.distributions.length === 0 ? (
        publishing === false ? (
          <div className="note" data-testid="publishing-off">
            <p>Publishing is off on this controller, so Done builds are not put into apt repositories.</p>
            <p>
              Start it with <code>buildbox serve --publish</code> (or <code>buildbox box --publish</code>, or <code>BUILDBOX_PUBLISH=1</code>) for unsigned
              repositories, or with <code>--sign-key &lt;keyid&gt;</code> (<code>BUILDBOX_SIGN_KEY</code>, with <code>--gnupg-home</code> or{' '}
              <code>GNUPGHOME</code> holding the secret key) to sign the uploads and the repositories; a signing key turns publishing on by itself.
            </p>
          </div>
        ) : (
          <p className="muted" data-testid="publishing-empty">
            Nothing has been published yet: each build is added to its suite's repository when it reaches Done.
          </p>
        )
      ) : null}
      {dists.data?.distributions.map((d) => <Distribution key={d} dist={d} http={http} />)}
    </section>
  );
}

function Distribution({ dist, http }: { dist: string; http: Http }) {
  const listing = useQuery({ queryKey: ['apt-repo', dist], queryFn: ({ signal }) => repoListing(http, dist, signal) });
  const suites = listing.data ? Object.keys(listing.data.suites).sort() : [];
  // The listing names the repository as the controller names itself; a relative one is ours.
  const url = listing.data ? (listing.data.url.startsWith('/') ? http.url(listing.data.url) : listing.data.url) : '';
  return (
    <section className="apt-dist" aria-label={`distribution ${dist}`} data-testid={`apt-dist-${dist}`}>
      <h3>{dist}</h3>
      <ErrorNote error={listing.error} />
      {listing.data ? (
        <>
          {suites.length === 0 ? <p className="muted">No suite has been published yet.</p> : null}
          {suites.map((s) => (
            <Suite key={s} dist={dist} suite={s} url={url} entries={listing.data.suites[s] ?? []} signing={listing.data.signing[s]} http={http} />
          ))}
          <PublishFailures failures={listing.data.publishFailures} />
        </>
      ) : null}
    </section>
  );
}

function Suite({ dist, suite, url, entries, signing, http }: { dist: string; suite: string; url: string; entries: RepoEntry[]; signing: RepoListing['signing'][string] | undefined; http: Http }) {
  const [filter, setFilter] = useState('');
  const needle = filter.trim().toLowerCase();
  const shown = entries
    .filter((e) => !needle || e.package.toLowerCase().includes(needle) || e.version.toLowerCase().includes(needle) || e.arch.toLowerCase().includes(needle))
    .sort((a, b) => a.package.localeCompare(b.package) || a.arch.localeCompare(b.arch));
  const signed = signing?.signed ?? false;
  return (
    <div className="apt-suite" data-testid={`apt-suite-${suite}`}>
      <h4>
        {suite} <span className="muted">
          ({entries.length} {entries.length === 1 ? 'entry' : 'entries'})
        </span>
      </h4>
      <div className="help">
        <p>Add to apt's sources (e.g. <code>/etc/apt/sources.list.d/buildbox-{suite}.list</code>):</p>
        <CopyField label={`apt sources line for ${suite}`} value={aptSourcesLine(url, dist, suite, signed)} testId={`apt-line-${suite}`} wide />
        {signed ? (
          <p className="hint" data-testid={`apt-key-${suite}`}>
            Signed by key <code>{signing?.signer ?? 'unknown'}</code>. The controller does not serve its public key: export it where the key lives, e.g.{' '}
            <code>
              gpg --export {signing?.signer ?? '<keyid>'} | sudo tee {keyringPath(dist)} &gt;/dev/null
            </code>
            , and copy that file to each machine that uses the line.
          </p>
        ) : (
          <p className="hint" data-testid={`apt-key-${suite}`}>
            Unsigned: apt accepts it only with <code>[trusted=yes]</code>. Start the controller with <code>--sign-key &lt;keyid&gt;</code> to sign it.
          </p>
        )}
      </div>
      <label className="row">
        Filter{' '}
        <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label={`filter packages in ${suite}`} placeholder="package, version or arch" />
      </label>
      <table className="compact" data-testid={`apt-packages-${suite}`}>
        <thead>
          <tr>
            <th>Package</th>
            <th>Version</th>
            <th>Arch</th>
            <th>Component</th>
            <th>Files</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={`${e.package} ${e.version} ${e.arch} ${e.component}`}>
              <td>{e.package}</td>
              <td>{e.version}</td>
              <td>{e.arch}</td>
              <td>{e.component}</td>
              <td>
                <a href={repoFileUrl(http, dist, e.path)} download>
                  {e.path.split('/').at(-1)}
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {entries.length > 0 && shown.length === 0 ? <p className="muted">No package matches “{filter}”.</p> : null}
    </div>
  );
}

function PublishFailures({ failures }: { failures: RepoListing['publishFailures'] }) {
  if (failures.length === 0) return null;
  return (
    <div data-testid="publish-failures">
      <h4>Publish failures</h4>
      <p className="muted">These Done jobs could not be added to their repository; each is retried with a growing delay.</p>
      <table className="compact">
        <thead>
          <tr>
            <th>Job</th>
            <th>Attempts</th>
            <th>Error</th>
            <th>Next attempt</th>
          </tr>
        </thead>
        <tbody>
          {failures.map((f) => (
            <tr key={f.job}>
              <td>
                <Link to={`/ui/jobs/${f.job}`}>{f.job}</Link>
              </td>
              <td>{f.attempts}</td>
              <td className="wrap">{f.error}</td>
              <td>
                <Time iso={new Date(f.nextAt).toISOString()} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
