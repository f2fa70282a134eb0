// The apt index parsing the Repositories screen relies on, against files made by the real tools:
// a signature made by gpg names its key, Release/Packages/Sources stanzas give the files.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { indexFiles, signatureIssuer } from './repo-api';

const home = mkdtempSync(join(tmpdir(), 'bb-repo-api-gpg-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const gpg = (args: string[], input?: string) =>
  execFileSync('gpg', ['--batch', ...args], { env: { ...process.env, GNUPGHOME: home }, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();

describe('signatureIssuer', () => {
  it('names the key of a gpg clear signature, and nothing for unsigned text', () => {
    gpg(['--passphrase', '', '--quick-gen-key', 'Repo API Test <repo-api@buildbox.invalid>', 'default', 'default', 'never']);
    const fpr = /^fpr:+([0-9A-F]+):/m.exec(gpg(['--with-colons', '--list-secret-keys']))![1]!;
    const signed = gpg(['--clearsign', '--digest-algo', 'SHA512'], 'Origin: Buildbox\nCodename: x\n');
    expect(signatureIssuer(signed)).toBe(fpr);
    expect(signatureIssuer('Origin: Buildbox\n')).toBeNull();
    expect(signatureIssuer('-----BEGIN PGP SIGNATURE-----\n\n!!!\n-----END PGP SIGNATURE-----\n')).toBeNull();
  });
});

describe('apt indices', () => {
  it('reads .deb paths from Packages and the .dsc from Sources', () => {
    const packages = 'Package: hello\nVersion: 1.0-1\nArchitecture: amd64\nFilename: pool/main/h/hello/hello_1.0-1_amd64.deb\nSize: 10\n\nPackage: hello-doc\nVersion: 1.0-1\nArchitecture: all\nFilename: pool/main/h/hello/hello-doc_1.0-1_all.deb\n';
    expect(indexFiles(packages, 'Packages')).toEqual([
      { package: 'hello', version: '1.0-1', arch: 'amd64', path: 'pool/main/h/hello/hello_1.0-1_amd64.deb' },
      { package: 'hello-doc', version: '1.0-1', arch: 'all', path: 'pool/main/h/hello/hello-doc_1.0-1_all.deb' },
    ]);
    const sources = `Package: hello\nVersion: 1.0-1\nDirectory: pool/main/h/hello\nFiles:\n ${'1'.repeat(32)} 900 hello_1.0-1.dsc\n ${'2'.repeat(32)} 4000 hello_1.0.orig.tar.gz\n`;
    expect(indexFiles(sources, 'Sources')).toEqual([{ package: 'hello', version: '1.0-1', arch: 'source', path: 'pool/main/h/hello/hello_1.0-1.dsc' }]);
  });
});
