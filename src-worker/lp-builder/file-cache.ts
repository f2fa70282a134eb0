// The builder's file cache: one flat directory of files named by the caller (normally a SHA-1),
// plus `buildlog`. Every name is checked here, in one place, because names arrive from the
// network (ensurepresent, build, /filecache/<name>) and the original accepted "../x".
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BuilderRefusal } from './errors';

export const BUILDLOG = 'buildlog';
export const BUILDLOG_UNSANITIZED = 'buildlog.unsanitized';
/** Builder-private subdirectories (dot names never come from Launchpad, whose names are SHA-1s). */
export const BUILDS_DIR = '.builds';
export const CHROOTS_DIR = '.chroots';

/** Throws BuilderRefusal unless `name` is a plain file name: no separators, not "." or "..". */
export function checkCacheName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '') throw new BuilderRefusal('cache file name must be a non-empty string');
  if (name.includes('/') || name.includes('\\') || name.includes('\0')) throw new BuilderRefusal(`unsafe cache file name ${JSON.stringify(name)}`);
  if (name === '.' || name === '..' || name.includes('..')) throw new BuilderRefusal(`unsafe cache file name ${JSON.stringify(name)}`);
  if (name.length > 255) throw new BuilderRefusal('cache file name too long');
}

/** Names the builder itself writes: a download must not land on them. */
export function isReservedName(name: string): boolean {
  return name === BUILDLOG || name === BUILDLOG_UNSANITIZED || name.endsWith('.tmp') || name.startsWith('.');
}

/** Whether /filecache/<name> may serve it: partial downloads and the unscrubbed private log stay private. */
export function isServableName(name: string): boolean {
  try {
    checkCacheName(name);
  } catch {
    return false;
  }
  return name !== BUILDLOG_UNSANITIZED && !name.endsWith('.tmp') && !name.startsWith('.');
}

export class FileCache {
  constructor(readonly dir: string) {}

  /** Makes sure the directory exists and drops what a previous run left half-done. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const st = await stat(this.dir);
    if (!st.isDirectory()) throw new Error(`FileCache path is not a dir: ${this.dir}`);
    // Builder state is in memory only: after a restart we are IDLE, so a log or temp file is stale.
    for (const name of await readdir(this.dir)) {
      if (name === BUILDLOG || name.endsWith('.tmp') || name === BUILDS_DIR) await rm(join(this.dir, name), { force: true, recursive: true });
    }
  }

  /** Absolute path of a checked name. */
  path(name: string): string {
    checkCacheName(name);
    return join(this.dir, name);
  }

  /** True if a regular file of that name is cached. */
  async has(name: string): Promise<boolean> {
    try {
      return (await stat(this.path(name))).isFile();
    } catch (e) {
      if (e instanceof BuilderRefusal) throw e;
      return false;
    }
  }

  async remove(name: string): Promise<void> {
    await unlink(this.path(name)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  /**
   * Copies a build output into the cache under its SHA-1 (hashing while copying, then renaming,
   * so a half-copied file never carries a real name). Identical outputs share one entry.
   */
  async storeFile(src: string): Promise<{ sha1: string; created: boolean }> {
    const tmp = join(this.dir, `.store-${randomBytes(6).toString('hex')}.tmp`);
    const hash = createHash('sha1');
    const out = await open(tmp, 'wx');
    try {
      for await (const chunk of createReadStream(src)) {
        hash.update(chunk as Buffer);
        await out.write(chunk as Buffer);
      }
    } catch (e) {
      await out.close();
      await rm(tmp, { force: true });
      throw e;
    }
    await out.close();
    const sha1 = hash.digest('hex');
    if (await this.has(sha1)) {
      await rm(tmp, { force: true });
      return { sha1, created: false };
    }
    await rename(tmp, join(this.dir, sha1));
    return { sha1, created: true };
  }
}

/** The name an output is listed under in `filemap`. */
export function outputName(path: string): string {
  const name = basename(path);
  checkCacheName(name);
  return name;
}
