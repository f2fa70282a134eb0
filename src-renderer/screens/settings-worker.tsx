// Settings → the local worker (and, in the desktop app, the connection it keeps).
export function LocalWorkerSection() {
  return null;
}
