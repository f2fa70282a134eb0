import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';

export interface FileDigest {
  name: string;
  path: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
}

/** Files up to this size are read in one go: a build's .dsc, .changes, .buildinfo and most .debs. */
const READ_WHOLE = 4 * 1024 * 1024;

/** Hashes a file once for all the digests Debian control files and the librarian use; the size is of the bytes hashed. */
export async function digestFile(path: string): Promise<FileDigest> {
  const md5 = createHash('md5');
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  // A small file costs less read at once than streamed (each streamed chunk, and the open and
  // close, is a trip through the thread pool): the end of every build digests several.
  if (statSync(path).size <= READ_WHOLE) {
    const data = readFileSync(path);
    return { name: basename(path), path, size: data.length, md5: md5.update(data).digest('hex'), sha1: sha1.update(data).digest('hex'), sha256: sha256.update(data).digest('hex') };
  }
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    md5.update(chunk as Buffer);
    sha1.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { name: basename(path), path, size, md5: md5.digest('hex'), sha1: sha1.digest('hex'), sha256: sha256.digest('hex') };
}
