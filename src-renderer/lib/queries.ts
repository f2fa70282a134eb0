// Query hooks shared by several screens (same keys, so one event invalidates them all).
import { useQuery } from '@tanstack/react-query';
import { useApi } from './context';

export function useStats() {
  const api = useApi();
  return useQuery({ queryKey: ['stats'], queryFn: ({ signal }) => api.stats(signal) });
}

export function useLookups() {
  const api = useApi();
  return useQuery({ queryKey: ['lookups'], queryFn: ({ signal }) => api.lookups(signal) });
}

/** Workers, or null when this controller has no worker API. */
export function useWorkers() {
  const api = useApi();
  return useQuery({
    queryKey: ['workers'],
    queryFn: async ({ signal }) => {
      try {
        return await api.workers(signal);
      } catch (e) {
        if ((e as { status?: number }).status === 404) return null;
        throw e;
      }
    },
  });
}

export function useBuildClients() {
  const api = useApi();
  return useQuery({ queryKey: ['buildclients'], queryFn: ({ signal }) => api.buildClients(signal) });
}

export const queueOf = (j: { dist: string; arch: string; suite: string; format: string }) => `${j.dist}_${j.arch}_${j.suite}_${j.format}`;
