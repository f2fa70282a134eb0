// The connection (base URL + credential) and the Api built on it, shared by every screen.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { bridge, browserConnection, loadConnection, saveBrowserCredential, subscribeConnection, type Connection } from './connection';
import { Http } from './http';
import { Api } from './api';

interface ConnectionState {
  conn: Connection;
  api: Api;
  /** Browser mode: keep a new credential (empty = log out). */
  setCredential(token: string): void;
}

const Ctx = createContext<ConnectionState | null>(null);

export function ConnectionProvider({ children }: { children: ReactNode }) {
  // A browser page starts with its connection (the first screen's requests leave with the first
  // render); only the desktop bridge has to be asked, asynchronously.
  const [conn, setConn] = useState<Connection | null>(() => (bridge() ? null : browserConnection()));
  const [error, setError] = useState<string | null>(null);
  const qc = useQueryClient();

  useEffect(() => {
    let live = true;
    if (bridge()) loadConnection().then(
      (c) => live && setConn(c),
      (e: Error) => live && setError(e.message),
    );
    const off = subscribeConnection((c) => {
      setConn(c);
      qc.clear();
    });
    return () => {
      live = false;
      off();
    };
  }, [qc]);

  const setCredential = useCallback(
    (token: string) => {
      saveBrowserCredential(token);
      setConn((c) => (c ? { ...c, token } : c));
      void qc.invalidateQueries();
    },
    [qc],
  );

  const value = useMemo(() => (conn ? { conn, api: new Api(new Http(conn)), setCredential } : null), [conn, setCredential]);
  if (error) return <p className="error" role="alert">Cannot read the connection settings: {error}</p>;
  if (!value) return <p className="muted">Connecting…</p>;
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useConnection(): ConnectionState {
  const v = useContext(Ctx);
  if (!v) throw new Error('useConnection outside ConnectionProvider');
  return v;
}

export function useApi(): Api {
  return useConnection().api;
}
