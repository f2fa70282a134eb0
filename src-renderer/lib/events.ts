// Live updates: one subscription to /api/v1/events (the shared client's stream) for the whole UI. Events invalidate the
// queries they affect; bursts (a submission fanning out, a bulk cancel) are coalesced so that a
// thousand events cause one refetch per query, not a thousand.
import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import type { ApiEvent } from '@shared/api';
import { useApi } from './context';

type Listener = (e: ApiEvent) => void;
const listeners = new Set<Listener>();
let connected = false;
const connectedSubs = new Set<() => void>();

function setConnected(v: boolean) {
  if (connected === v) return;
  connected = v;
  for (const s of connectedSubs) s();
}

/** Subscribe to raw events (the log viewer listens for job.log). */
export function useServerEvent(fn: Listener): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const l: Listener = (e) => ref.current(e);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
}

export function useLiveConnected(): boolean {
  return useSyncExternalStore(
    (cb) => {
      connectedSubs.add(cb);
      return () => connectedSubs.delete(cb);
    },
    () => connected,
  );
}

const COALESCE_MS = 250;

/** Opens the event stream and turns events into query invalidations. Mount once. */
export function useEventStream(): void {
  const api = useApi();
  const qc = useQueryClient();
  const [, force] = useState(0);
  useEffect(() => {
    const pending = new Map<string, QueryKey>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      timer = null;
      const keys = [...pending.values()];
      pending.clear();
      for (const queryKey of keys) void qc.invalidateQueries({ queryKey });
    };
    const touch = (key: QueryKey) => {
      pending.set(JSON.stringify(key), key);
      timer ??= setTimeout(flush, COALESCE_MS);
    };
    const handle = (e: ApiEvent) => {
      switch (e.type) {
        case 'job.created':
        case 'job.status':
        case 'job.deleted':
          touch(['jobs']);
          touch(['stats']);
          touch(['job', e.jobId]);
          touch(['packages-active']);
          if (e.type === 'job.status') {
            touch(['workers']);
            // A builder's current job changes with its job's status.
            touch(['builders']);
          }
          break;
        case 'worker.seen':
          touch(['workers']);
          break;
        default:
          break;
      }
      for (const l of listeners) l(e);
    };
    const stream = api.events({
      onEvent: handle,
      onOpen: () => {
        setConnected(true);
        // Anything may have changed while disconnected.
        touch(['jobs']);
        touch(['stats']);
        touch(['workers']);
        touch(['builders']);
      },
      onError: () => setConnected(false),
    });
    force((n) => n + 1);
    return () => {
      stream.close();
      setConnected(false);
      if (timer) clearTimeout(timer);
    };
  }, [api, qc]);
}
