// The `scripted` backend: a test double driven line by line through a FIFO, so tests decide when
// and how a build ends. Each build reads lines:
//   LOG <text>                 append text + "\n" to the build log
//   RESULT OK                  succeed; writes <dsc name minus .dsc>_<arch>.changes, a small real
//                              .deb and a .buildinfo, all listed in the .changes
//   RESULT PACKAGEFAIL | CHROOTFAIL | BUILDERFAIL | GIVENBACK    finish with that category
//   RESULT DEPFAIL <relation>  finish with DEPFAIL and that relation
// After the abort signal the build keeps waiting, and ends ABORTED when the next line (any line)
// arrives: that lets a test observe the ABORTING state for as long as it wants. Given up by the
// builder (abandon()), it stops waiting, and lines go to the next build.
//
// The FIFO is opened read-write and non-blocking, so writers never block on open() and the reader
// never sees EOF; lines written while no build runs are queued for the next one.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, openSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { BuildBackend, BuildOutcome, BuildSpec } from './backend';

const FAIL_RESULTS = ['PACKAGEFAIL', 'CHROOTFAIL', 'BUILDERFAIL', 'GIVENBACK'] as const;

export class ScriptedBackend implements BuildBackend {
  readonly name = 'scripted';
  private socket: Socket | null = null;
  private buffered = '';
  private readonly lines: string[] = [];
  private waiter: { resolve: (line: string) => void; reject: (e: Error) => void } | null = null;
  private closed = false;

  constructor(readonly fifoPath: string) {}

  /** Creates the FIFO if missing and starts reading it. */
  async open(): Promise<void> {
    if (this.socket) return;
    const st = await stat(this.fifoPath).catch(() => null);
    if (!st) await promisify(execFile)('mkfifo', [this.fifoPath]);
    else if (!st.isFIFO()) throw new Error(`${this.fifoPath} exists and is not a FIFO`);
    const fd = openSync(this.fifoPath, constants.O_RDWR | constants.O_NONBLOCK);
    const socket = new Socket({ fd, readable: true, writable: false });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    this.socket = socket;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
    this.fail(new Error('scripted backend closed'));
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl).replace(/\r$/, '');
      this.buffered = this.buffered.slice(nl + 1);
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(line);
      } else this.lines.push(line);
    }
  }

  private fail(e: Error): void {
    const w = this.waiter;
    this.waiter = null;
    w?.reject(e);
  }

  private nextLine(): Promise<string> {
    if (this.lines.length) return Promise.resolve(this.lines.shift()!);
    if (this.closed) return Promise.reject(new Error('scripted backend closed'));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The builder gave up on the waiting build (abort timeout): later lines are for the next one. */
  abandon(): void {
    this.fail(new Error('scripted backend: the build was given up'));
  }

  async build(spec: BuildSpec): Promise<BuildOutcome> {
    // A build still waiting for a line (one given up without abandon()) stops as this one starts.
    this.fail(new Error('scripted backend: superseded by a newer build'));
    await this.open();
    spec.log.write(`scripted backend: building ${basename(spec.dsc)} for ${spec.arch} (${spec.suite})\n`);
    for (;;) {
      const line = await this.nextLine();
      if (spec.signal.aborted) {
        spec.log.write('scripted backend: aborted\n');
        return { category: 'ABORTED', files: [] };
      }
      const [word = '', ...rest] = line.split(' ');
      if (word === 'LOG') {
        spec.log.write(`${line.slice(4)}\n`);
        continue;
      }
      if (word !== 'RESULT') {
        spec.log.write(`scripted backend: ignoring ${JSON.stringify(line)}\n`);
        continue;
      }
      const [result = '', ...relation] = rest;
      if (result === 'OK') return writeFakeUpload(spec);
      if (result === 'DEPFAIL') return { category: 'DEPFAIL', missingDependencies: relation.join(' ').trim(), files: [] };
      if ((FAIL_RESULTS as readonly string[]).includes(result)) {
        return { category: result as (typeof FAIL_RESULTS)[number], files: [], message: `scripted backend: ${result}` };
      }
      spec.log.write(`scripted backend: unknown result ${JSON.stringify(result)}\n`);
    }
  }
}

// ------------------------------------------------------------------ fake but real upload files

/** Package name and version: from the .dsc if it is one, else from its file name. */
async function sourceIdentity(dsc: string): Promise<{ pkg: string; version: string }> {
  const text = await readFile(dsc, 'utf8').catch(() => '');
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(\\S+)`, 'm').exec(text)?.[1];
  const [namePart = '', versionPart = ''] = basename(dsc, '.dsc').split('_');
  const pkg = field('Source') ?? namePart;
  const version = field('Version') ?? versionPart;
  return {
    pkg: /^[a-z0-9][a-z0-9+.-]+$/.test(pkg) ? pkg : 'scripted-package',
    version: /^[0-9][A-Za-z0-9.+~:-]*$/.test(version) ? version : '0',
  };
}

function tarEntry(name: string, body: Buffer | null): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, 'ascii');
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0');
  put(name, 0, 100);
  put(`${octal(body ? 0o644 : 0o755, 8)}\0`, 100, 8);
  put(`${octal(0, 8)}\0`, 108, 8);
  put(`${octal(0, 8)}\0`, 116, 8);
  put(`${octal(body?.length ?? 0, 12)}\0`, 124, 12);
  put(`${octal(1_700_000_000, 12)}\0`, 136, 12);
  h.fill(' ', 148, 156); // checksum field counts as spaces while summing
  put(body ? '0' : '5', 156, 1);
  put('ustar\0' + '00', 257, 8);
  put('root', 265, 32);
  put('root', 297, 32);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  if (!body) return h;
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  body.copy(padded);
  return Buffer.concat([h, padded]);
}

function tarGz(entries: [string, string | null][]): Buffer {
  const parts = entries.map(([name, body]) => tarEntry(name, body === null ? null : Buffer.from(body)));
  return gzipSync(Buffer.concat([...parts, Buffer.alloc(1024)]));
}

function arMember(name: string, data: Buffer): Buffer {
  const field = (s: string, len: number) => s.padEnd(len, ' ');
  const header = field(name, 16) + field('1700000000', 12) + field('0', 6) + field('0', 6) + field('100644', 8) + field(String(data.length), 10) + '`\n';
  return Buffer.concat([Buffer.from(header, 'ascii'), data, data.length % 2 ? Buffer.from('\n') : Buffer.alloc(0)]);
}

/** A minimal valid binary package (dpkg-deb can read it). */
function fakeDeb(pkg: string, version: string, arch: string): Buffer {
  const control = `Package: ${pkg}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: Buildbox Scripted Backend <scripted@buildbox.invalid>\nDescription: fake package from the scripted backend\n`;
  const doc = `./usr/share/doc/${pkg}/`;
  return Buffer.concat([
    Buffer.from('!<arch>\n'),
    arMember('debian-binary', Buffer.from('2.0\n')),
    arMember('control.tar.gz', tarGz([['./', null], ['./control', control]])),
    arMember('data.tar.gz', tarGz([['./', null], ['./usr/', null], ['./usr/share/', null], ['./usr/share/doc/', null], [doc, null], [`${doc}README`, `${pkg} ${version}\n`]])),
  ]);
}

async function writeFakeUpload(spec: BuildSpec): Promise<BuildOutcome> {
  const { pkg, version } = await sourceIdentity(spec.dsc);
  const upstreamless = version.replace(/^[0-9]+:/, '');
  const base = basename(spec.dsc, '.dsc');
  const debName = `${pkg}_${upstreamless}_${spec.arch}.deb`;
  const buildinfoName = `${base}_${spec.arch}.buildinfo`;
  const changesName = `${base}_${spec.arch}.changes`;
  const files: [string, Buffer][] = [
    [debName, fakeDeb(pkg, version, spec.arch)],
    [buildinfoName, Buffer.from(`Format: 1.0\nSource: ${pkg}\nBinary: ${pkg}\nArchitecture: ${spec.arch}\nVersion: ${version}\nBuild-Origin: Buildbox scripted backend\n`)],
  ];
  for (const [name, data] of files) await writeFile(join(spec.workdir, name), data);
  const digest = (alg: string, d: Buffer) => createHash(alg).update(d).digest('hex');
  const list = (alg: string) => files.map(([n, d]) => ` ${digest(alg, d)} ${d.length} ${n}`).join('\n');
  const changes = [
    'Format: 1.8',
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Source: ${pkg}`,
    `Binary: ${pkg}`,
    `Architecture: ${spec.arch}`,
    `Version: ${version}`,
    `Distribution: ${spec.suite}`,
    'Urgency: medium',
    'Maintainer: Buildbox Scripted Backend <scripted@buildbox.invalid>',
    'Description:',
    ` ${pkg} - fake package from the scripted backend`,
    'Changes:',
    ` ${pkg} (${version}) ${spec.suite}; urgency=medium`,
    ' .',
    '   * Built by the scripted backend.',
    'Checksums-Sha1:',
    list('sha1'),
    'Checksums-Sha256:',
    list('sha256'),
    'Files:',
    files.map(([n, d]) => ` ${digest('md5', d)} ${d.length} misc optional ${n}`).join('\n'),
    '',
  ].join('\n');
  const changesPath = join(spec.workdir, changesName);
  await writeFile(changesPath, changes);
  return { category: 'OK', changesFile: changesPath, files: [changesPath, ...files.map(([n]) => join(spec.workdir, n))] };
}
