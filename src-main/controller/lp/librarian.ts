// The controller's librarian as the buildd-manager uses it: store bytes (sources, chroots, build
// results, logs), check what it holds, and name the HTTP URL builders download from.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Ctx } from '../context';
import { FileStore, recordFile, type PutOptions } from '../store/file-store';

export interface LibraryFile {
  sha1: string;
  sha256: string;
  size: number;
  url: string;
}

export interface Librarian {
  put(source: AsyncIterable<Uint8Array> | Uint8Array, name: string, opts?: PutOptions): Promise<LibraryFile>;
  /** Size of a stored file, or null. */
  size(sha1: string): Promise<number | null>;
  open(sha1: string): NodeJS.ReadableStream;
  url(sha1: string, name: string): string;
}

const stores = new WeakMap<Ctx, Librarian>();

async function* once(buf: Uint8Array): AsyncIterable<Uint8Array> {
  yield buf;
}

/** The librarian under `<dataDir>/files`, one per controller. */
export function librarianFor(ctx: Ctx): Librarian {
  let lib = stores.get(ctx);
  if (lib) return lib;
  const store = new FileStore(join(ctx.config.dataDir, 'files'));
  const url = (sha1: string, name: string) => `${ctx.config.baseUrl}/files/${sha1}/${encodeURIComponent(name)}`;
  lib = {
    async put(source, name, opts) {
      const f = await store.put(source instanceof Uint8Array ? once(source) : source, opts);
      await recordFile(ctx.db.kysely, f);
      return { ...f, url: url(f.sha1, name) };
    },
    size: (sha1) => store.size(sha1),
    open: (sha1) => createReadStream(store.path(sha1)),
    url,
  };
  stores.set(ctx, lib);
  return lib;
}
