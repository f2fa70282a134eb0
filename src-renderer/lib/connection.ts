// Where the controller is and how to authenticate. Inside the desktop app the preload bridge
// (`window.buildbox`) supplies both; in a browser the base URL is the page's origin and the
// credential is what the user typed on the Settings screen, kept in localStorage.
import type { DesktopBridge, DesktopConnection } from '@shared/desktop-bridge';

export interface Connection {
  baseUrl: string;
  /** A `bbx_…` token or `user:password` for HTTP Basic; empty when not logged in. */
  token: string;
  /** Where the connection came from: the desktop bridge or this browser page. */
  source: 'bridge' | 'browser';
}

declare global {
  interface Window {
    buildbox?: DesktopBridge;
  }
}

const TOKEN_KEY = 'buildbox.credential';

export function bridge(): DesktopBridge | undefined {
  return typeof window !== 'undefined' && window.buildbox && typeof window.buildbox.getConnection === 'function' ? window.buildbox : undefined;
}

function pageOrigin(): string {
  return window.location.protocol.startsWith('http') ? window.location.origin : 'http://127.0.0.1:8080';
}

export async function loadConnection(): Promise<Connection> {
  const b = bridge();
  if (b) {
    const c = await b.getConnection();
    return { baseUrl: c.baseUrl.replace(/\/+$/, ''), token: c.token ?? '', source: 'bridge' };
  }
  return browserConnection();
}

/** In a browser the connection is known at once (no bridge to ask), so the first render can use it. */
export function browserConnection(): Connection {
  let token = '';
  try {
    token = window.localStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    // Storage may be disabled; the user then logs in per page load.
  }
  return { baseUrl: pageOrigin(), token, source: 'browser' };
}

export function saveBrowserCredential(token: string): void {
  try {
    if (token) window.localStorage.setItem(TOKEN_KEY, token);
    else window.localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Nothing to do: the credential still lives in memory for this page.
  }
}

/** The Authorization header for a credential: `user:password` → Basic, anything else → Bearer. */
export function authorizationHeader(token: string): string | undefined {
  if (!token) return undefined;
  if (token.startsWith('bbx_') || !token.includes(':')) return `Bearer ${token}`;
  const bytes = new TextEncoder().encode(token);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

export function subscribeConnection(cb: (c: Connection) => void): () => void {
  const b = bridge();
  if (!b?.onConnectionChanged) return () => {};
  const off = b.onConnectionChanged((c: DesktopConnection) => cb({ baseUrl: c.baseUrl.replace(/\/+$/, ''), token: c.token ?? '', source: 'bridge' }));
  return typeof off === 'function' ? off : () => {};
}
