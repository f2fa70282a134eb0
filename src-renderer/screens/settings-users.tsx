// Settings → Users and tokens: who this credential is, its own API tokens (made here and shown
// once, revoked after a confirmation) and, for administrators, every account and every token,
// worker tokens included. Forms are checked with the server's own schemas; each control's error
// shows beside it.
import { useRef, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { TokenCreate, UserCreate, UserPatch, type Me, type TokenInfo, type UserInfo } from '@shared/users-api';
import { useConnection } from '../lib/context';
import { createToken, createUser, deleteUser, listTokens, listUsers, patchUser, revokeToken, whoAmI } from '../lib/users-api';
import { ConfirmButton, ErrorNote, Field, Time, useAction } from '../components/common';

type Errors = Record<string, string>;

/** The first message per field of a failed zod check. */
function fieldErrors(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): Errors {
  const errs: Errors = {};
  for (const i of issues) errs[String(i.path[0] ?? 'form')] ??= i.message;
  return errs;
}

export function UsersAndTokensSection() {
  const { api, conn } = useConnection();
  const http = api.http;
  // The credential is part of every key: after logging in as someone else nothing of the
  // previous account's lists may show.
  const me = useQuery({ queryKey: ['users-api', conn.token, 'me'], queryFn: ({ signal }) => whoAmI(http, signal) });
  return (
    // Not a labelled region: its name would contain "User" and so collide with the login form's
    // "User" field for anything that finds controls by label text.
    <section data-testid="users-and-tokens">
      <h2>Users and tokens</h2>
      {!http.loggedIn ? (
        <p className="muted" data-testid="users-login-needed">
          Log in to see who you are, make API tokens and, as an administrator, manage users.
        </p>
      ) : me.error ? (
        <ErrorNote error={me.error} />
      ) : !me.data ? (
        <p className="muted">Loading…</p>
      ) : me.data.kind === 'worker' ? (
        <p className="muted" data-testid="whoami">
          Logged in with the worker token <strong>{me.data.name}</strong>: it may only claim and report builds. Log in as a user to manage tokens.
        </p>
      ) : me.data.kind === 'anonymous' ? (
        <p className="muted">Log in to see who you are and manage tokens.</p>
      ) : (
        <SignedIn me={me.data} />
      )}
    </section>
  );
}

function SignedIn({ me }: { me: Me }) {
  const { api, conn } = useConnection();
  const tokens = useQuery({ queryKey: ['users-api', conn.token, 'tokens'], queryFn: ({ signal }) => listTokens(api.http, signal) });
  const users = useQuery({ queryKey: ['users-api', conn.token, 'users'], queryFn: ({ signal }) => listUsers(api.http, signal), enabled: me.isAdmin });
  const mine = tokens.data?.filter((t) => t.kind === 'user' && t.user === me.name) ?? [];
  return (
    <>
      <dl className="facts">
        <dt>Signed in as</dt>
        <dd data-testid="whoami">
          {me.name}
          {me.isAdmin ? ' (administrator)' : ''}
          <span className="muted">{me.tokenId !== undefined ? ` · with token #${me.tokenId}` : ' · with a password'}</span>
        </dd>
      </dl>
      <OwnPassword me={me} />
      <h3 id="my-tokens-title">My tokens</h3>
      <p className="muted">A token stands for you in scripts and on other machines (Authorization: Bearer …). It is shown once, when made.</p>
      <NewTokenForm me={me} users={users.data ?? []} />
      <ErrorNote error={tokens.error} />
      {tokens.data ? <TokenTable label="my tokens" testId="my-tokens" rows={mine} showOwner={false} empty="You have no tokens." /> : null}
      {me.isAdmin ? (
        <>
          <h3>Users</h3>
          <NewUserForm />
          <ErrorNote error={users.error} />
          {users.data ? <UserTable me={me} rows={users.data} /> : null}
          <h3>All tokens</h3>
          <p className="muted">Every user’s tokens and the worker tokens (these may only claim jobs and report on them).</p>
          {tokens.data ? <TokenTable label="all tokens" testId="all-tokens" rows={tokens.data} showOwner empty="No tokens." /> : null}
        </>
      ) : null}
    </>
  );
}

/** A secret answered once: readable, selectable, with a copy button. */
function SecretReveal({ label, value, onDone, testId }: { label: string; value: string; onDone: () => void; testId: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [note, setNote] = useState<string | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const copy = async () => {
    setNote(null);
    setErr(null);
    try {
      await navigator.clipboard.writeText(value);
      setNote('Copied.');
    } catch {
      // No clipboard API outside secure contexts (e.g. plain http to another host): fall back to a selection copy.
      input.current?.select();
      if (document.execCommand?.('copy')) setNote('Copied.');
      else setErr('Copying is not allowed here: the text is selected, copy it with the keyboard.');
    }
  };
  return (
    <div className="note" role="status" data-testid={testId}>
      <p>{label}. Copy it now: it is not shown again.</p>
      <div className="row">
        <input ref={input} readOnly value={value} aria-label={label} size={Math.min(60, value.length + 2)} onFocus={(e) => e.currentTarget.select()} className="hash" />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
        {note ? <span className="ok">{note}</span> : null}
        {err ? (
          <span className="error" role="alert">
            {err}
          </span>
        ) : null}
      </div>
    </div>
  );
}

function useRefreshUsers() {
  const qc = useQueryClient();
  return () => void qc.invalidateQueries({ queryKey: ['users-api'] });
}

function OwnPassword({ me }: { me: Me }) {
  const { api, conn, setCredential } = useConnection();
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const change = useAction(async (password: string) => {
    await patchUser(api.http, me.name, { password });
    // A browser logged in with this user's password keeps working with the new one.
    if (conn.source === 'browser' && conn.token.startsWith(`${me.name}:`)) setCredential(`${me.name}:${password}`);
    change.setDone('Password changed.');
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const check = UserPatch.safeParse({ password: value });
    if (!check.success) return setError(fieldErrors(check.error.issues).password ?? check.error.issues[0]?.message ?? 'invalid');
    setError(null);
    void change.run(value).then((ok) => ok && setValue(''));
  };
  return (
    <form className="form inline" onSubmit={onSubmit} aria-label="change my password" noValidate>
      <Field label="New password for me" error={error}>
        <input type="password" value={value} onChange={(e) => setValue(e.target.value)} autoComplete="new-password" />
      </Field>
      <button type="submit" disabled={change.pending}>
        Change my password
      </button>
      <ErrorNote error={change.error} />
      {change.done ? <span className="ok">{change.done}</span> : null}
    </form>
  );
}

function NewTokenForm({ me, users }: { me: Me; users: UserInfo[] }) {
  const { api } = useConnection();
  const refresh = useRefreshUsers();
  const [errors, setErrors] = useState<Errors>({});
  const [kind, setKind] = useState<'user' | 'worker'>('user');
  const [made, setMade] = useState<{ label: string; token: string } | null>(null);
  const create = useAction(async (body: TokenCreate) => {
    const t = await createToken(api.http, body);
    setMade({ label: t.kind === 'worker' ? `Worker token “${t.name}”` : `Token “${t.name}” for ${t.user}`, token: t.token });
  }, refresh);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const fd = new FormData(form);
    const owner = String(fd.get('user') ?? '');
    const check = TokenCreate.safeParse({
      name: String(fd.get('name') ?? '').trim(),
      ...(me.isAdmin ? { kind } : {}),
      ...(me.isAdmin && kind === 'user' && owner && owner !== me.name ? { user: owner } : {}),
    });
    if (!check.success) return setErrors(fieldErrors(check.error.issues));
    setErrors({});
    setMade(null);
    void create.run(check.data).then((ok) => ok && form.reset());
  };
  return (
    <>
      <form className="form inline" onSubmit={onSubmit} aria-label="new token" noValidate>
        <Field label="Token name" error={errors.name} hint="e.g. laptop, ci">
          <input name="name" autoComplete="off" />
        </Field>
        {me.isAdmin ? (
          <>
            <Field label="Kind" error={errors.kind}>
              <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as 'user' | 'worker')}>
                <option value="user">user (acts as its user)</option>
                <option value="worker">worker (claims and reports builds)</option>
              </select>
            </Field>
            {kind === 'user' ? (
              <Field label="For user" error={errors.user}>
                <select name="user" defaultValue={me.name}>
                  {[me.name, ...users.map((u) => u.name).filter((n) => n !== me.name)].map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </select>
              </Field>
            ) : null}
          </>
        ) : null}
        <button type="submit" className="primary" disabled={create.pending}>
          Create token
        </button>
        <ErrorNote error={create.error} />
      </form>
      {made ? <SecretReveal label={made.label} value={made.token} onDone={() => setMade(null)} testId="new-token" /> : null}
    </>
  );
}

function TokenTable({ label, testId, rows, showOwner, empty }: { label: string; testId: string; rows: TokenInfo[]; showOwner: boolean; empty: string }) {
  if (rows.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table className="compact" aria-label={label} data-testid={testId}>
      <thead>
        <tr>
          <th>Id</th>
          <th>Name</th>
          {showOwner ? (
            <>
              <th>Kind</th>
              <th>User</th>
            </>
          ) : null}
          <th>Created</th>
          <th>State</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {rows.map((t) => (
          <TokenRow key={t.id} t={t} showOwner={showOwner} />
        ))}
      </tbody>
    </table>
  );
}

function TokenRow({ t, showOwner }: { t: TokenInfo; showOwner: boolean }) {
  const { api, conn, setCredential } = useConnection();
  const refresh = useRefreshUsers();
  const revoke = useAction(async () => {
    await revokeToken(api.http, t.id);
    // This page's own credential is now dead: forget it rather than fail on every request.
    if (t.current && conn.source === 'browser') setCredential('');
  }, refresh);
  const what = t.kind === 'worker' ? `worker token “${t.name}”` : `token “${t.name}”${showOwner && t.user ? ` of ${t.user}` : ''}`;
  return (
    <tr data-testid={`token-${t.id}`} className={t.revokedAt ? 'muted' : ''}>
      <td>{t.id}</td>
      <td>
        {t.name}
        {t.current ? <span className="muted"> (this session)</span> : null}
      </td>
      {showOwner ? (
        <>
          <td>{t.kind}</td>
          <td>{t.user ?? '—'}</td>
        </>
      ) : null}
      <td>
        <Time iso={t.createdAt} />
      </td>
      <td>
        {t.revokedAt ? (
          <>
            revoked <Time iso={t.revokedAt} />
          </>
        ) : (
          'active'
        )}
      </td>
      <td>
        {t.revokedAt ? null : (
          <ConfirmButton
            label="Revoke"
            question={t.current ? `Revoke ${what}? This page is logged in with it and will be logged out.` : `Revoke ${what}? Anything using it is refused from now on.`}
            confirmLabel="Revoke token"
            danger
            disabled={revoke.pending}
            onConfirm={() => revoke.run()}
          />
        )}
        <ErrorNote error={revoke.error} />
      </td>
    </tr>
  );
}

function NewUserForm() {
  const { api } = useConnection();
  const refresh = useRefreshUsers();
  const [errors, setErrors] = useState<Errors>({});
  const [made, setMade] = useState<{ name: string; password?: string } | null>(null);
  const create = useAction(async (body: UserCreate) => {
    const u = await createUser(api.http, body);
    setMade({ name: u.name, password: u.password });
  }, refresh);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const fd = new FormData(form);
    const password = String(fd.get('password') ?? '');
    const check = UserCreate.safeParse({ name: String(fd.get('name') ?? '').trim(), ...(password ? { password } : {}), admin: fd.get('admin') === 'on' });
    if (!check.success) return setErrors(fieldErrors(check.error.issues));
    setErrors({});
    setMade(null);
    void create.run(check.data).then((ok) => ok && form.reset());
  };
  return (
    <>
      <form className="form inline" onSubmit={onSubmit} aria-label="add a user" noValidate>
        <Field label="User name" error={errors.name}>
          <input name="name" autoComplete="off" />
        </Field>
        <Field label="Initial password" error={errors.password} hint="empty: one is generated">
          <input name="password" type="password" autoComplete="new-password" />
        </Field>
        <label className="check">
          <input type="checkbox" name="admin" /> administrator
        </label>
        <button type="submit" className="primary" disabled={create.pending}>
          Add user
        </button>
        <ErrorNote error={create.error} />
        {made && !made.password ? <span className="ok">Added {made.name}.</span> : null}
      </form>
      {made?.password ? <SecretReveal label={`Password of ${made.name}`} value={made.password} onDone={() => setMade(null)} testId="new-password" /> : null}
    </>
  );
}

function UserTable({ me, rows }: { me: Me; rows: UserInfo[] }) {
  return (
    <table className="compact" aria-label="users" data-testid="users">
      <thead>
        <tr>
          <th>Name</th>
          <th>Administrator</th>
          <th>Active tokens</th>
          <th>Created</th>
          <th>Password</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {rows.map((u) => (
          <UserRow key={u.name} u={u} isMe={u.name === me.name} />
        ))}
      </tbody>
    </table>
  );
}

function UserRow({ u, isMe }: { u: UserInfo; isMe: boolean }) {
  const { api } = useConnection();
  const refresh = useRefreshUsers();
  const [password, setPassword] = useState('');
  const [pwError, setPwError] = useState<string | null>(null);
  // The toggle shows the new state at once; it reverts (with the error beside it) if refused.
  const [shownAdmin, setShownAdmin] = useState<boolean | null>(null);
  const patch = useAction(async (body: UserPatch) => {
    await patchUser(api.http, u.name, body);
    if (body.password !== undefined) patch.setDone('Password set.');
  }, refresh);
  const del = useAction(() => deleteUser(api.http, u.name), refresh);
  const onPassword = (e: FormEvent) => {
    e.preventDefault();
    const check = UserPatch.safeParse({ password });
    if (!check.success) return setPwError(fieldErrors(check.error.issues).password ?? check.error.issues[0]?.message ?? 'invalid');
    setPwError(null);
    void patch.run({ password }).then((ok) => ok && setPassword(''));
  };
  return (
    <tr data-testid={`user-${u.name}`}>
      <td>
        {u.name}
        {isMe ? <span className="muted"> (you)</span> : null}
      </td>
      <td>
        <input
          type="checkbox"
          aria-label={`administrator ${u.name}`}
          checked={shownAdmin ?? u.isAdmin}
          disabled={patch.pending}
          onChange={(e) => {
            const admin = e.target.checked;
            setShownAdmin(admin);
            void patch.run({ admin }).finally(() => setShownAdmin(null));
          }}
        />
      </td>
      <td>{u.activeTokens}</td>
      <td>
        <Time iso={u.createdAt} />
      </td>
      <td>
        <form className="row" onSubmit={onPassword} aria-label={`set password of ${u.name}`} noValidate>
          <input
            type="password"
            aria-label={`new password ${u.name}`}
            aria-invalid={pwError ? true : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
          />
          <button type="submit" className="small" disabled={patch.pending || password === ''}>
            Set password
          </button>
          {pwError ? (
            <span className="error" role="alert">
              {pwError}
            </span>
          ) : null}
          {patch.done ? <span className="ok">{patch.done}</span> : null}
        </form>
      </td>
      <td>
        <ConfirmButton
          label="Delete"
          question={`Delete user ${u.name}${u.activeTokens ? ` and its ${u.activeTokens} active token${u.activeTokens === 1 ? '' : 's'}` : ''}?`}
          confirmLabel="Delete user"
          danger
          disabled={isMe || del.pending}
          onConfirm={() => del.run()}
        />
        <ErrorNote error={patch.error ?? del.error} />
      </td>
    </tr>
  );
}
