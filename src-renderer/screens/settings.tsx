// Settings: which controller this UI talks to and the credential it uses for changes. In the
// desktop app both come from the app (its own settings window); in a browser the controller is
// this page's origin and the credential is typed here and kept in this browser.
import { useState, type FormEvent } from 'react';
import { useConnection } from '../lib/context';
import { ErrorNote, Field, useAction } from '../components/common';
import { UsersAndTokensSection } from './settings-users';
import { LocalWorkerSection } from './settings-worker';

export function SettingsScreen() {
  const { conn, api, setCredential } = useConnection();
  const [user, setUser] = useState('admin');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [formErr, setFormErr] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  const test = useAction(async () => {
    const r = await api.testConnection();
    setResult(
      `Reachable: ${r.jobs} jobs. ` +
        (r.authenticated == null ? 'Not logged in (read-only).' : r.authenticated ? 'Credential accepted.' : 'Credential refused.'),
    );
  });
  const onLogin = (e: FormEvent) => {
    e.preventDefault();
    setResult(null);
    if (token.trim()) {
      setFormErr(null);
      setCredential(token.trim());
    } else if (user && password) {
      if (user.includes(':')) return setFormErr('user names cannot contain “:”');
      setFormErr(null);
      setCredential(`${user}:${password}`);
    } else {
      return setFormErr('enter a token, or a user name and password');
    }
    setPassword('');
    setToken('');
  };
  const who = conn.token ? (conn.token.startsWith('bbx_') || !conn.token.includes(':') ? 'a token' : `user ${conn.token.slice(0, conn.token.indexOf(':'))}`) : null;
  return (
    <section aria-labelledby="st-title">
      <h1 id="st-title">Settings</h1>
      <h2>Connection</h2>
      <dl className="facts">
        <dt>Controller</dt>
        <dd data-testid="base-url">{conn.baseUrl}</dd>
        <dt>Mode</dt>
        <dd>{conn.source === 'bridge' ? 'set by the desktop app (embedded controller or the remote one chosen there)' : 'this page’s own controller'}</dd>
        <dt>Credential</dt>
        <dd data-testid="credential-state">{who ? `logged in as ${who}` : 'not logged in: you can look but not change anything'}</dd>
      </dl>
      <div className="row">
        <button type="button" onClick={() => void test.run()} disabled={test.pending}>
          Test connection
        </button>
        <ErrorNote error={test.error} />
        {result ? (
          <span className="ok" role="status">
            {result}
          </span>
        ) : null}
      </div>
      {conn.source === 'browser' ? (
        <>
          <h2>Log in</h2>
          <p className="muted">
            Changes need a credential: a user token (<code>bbx_…</code>, from <code>buildbox user token</code>) or a user name and password. It is kept in
            this browser’s local storage.
          </p>
          <form className="form" onSubmit={onLogin} aria-label="log in" noValidate>
            <Field label="Token">
              <input value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" type="password" />
            </Field>
            <p className="muted">or</p>
            <Field label="User">
              <input value={user} onChange={(e) => setUser(e.target.value)} autoComplete="username" />
            </Field>
            <Field label="Password" error={formErr}>
              <input value={password} onChange={(e) => setPassword(e.target.value)} type="password" autoComplete="current-password" />
            </Field>
            <div className="row">
              <button type="submit" className="primary">
                Log in
              </button>
              {conn.token ? (
                <button type="button" onClick={() => setCredential('')}>
                  Log out
                </button>
              ) : null}
            </div>
          </form>
        </>
      ) : (
        <p className="muted">The desktop app sets the connection and its credential.</p>
      )}
      <LocalWorkerSection />
      <UsersAndTokensSection />
    </section>
  );
}
