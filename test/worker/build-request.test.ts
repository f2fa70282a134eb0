import { describe, expect, it } from 'vitest';
import { BuildRequestError, parseBuildRequest } from '../../src-worker/build-request';
import { makeBuildRequest } from '../fixtures/build-request';

describe('parseBuildRequest', () => {
  it('reads the pyBit BuildRequest', () => {
    const req = makeBuildRequest({ jobId: 5, package: 'hello', version: '1:2.10-3', arch: 'i386', suite: 'development', buildEnv: 'wheezy', master: false, method: 'svn', uri: 'http://svn/hello', vcsId: '42' });
    expect(parseBuildRequest(JSON.stringify(req))).toEqual({
      jobId: 5,
      package: 'hello',
      version: '1:2.10-3',
      arch: 'i386',
      suite: 'development',
      distribution: 'Debian',
      format: 'deb',
      buildEnv: 'wheezy',
      master: false,
      transport: { method: 'svn', uri: 'http://svn/hello', vcsId: '42' },
      webHost: '127.0.0.1:8080',
      timestamp: null,
    });
  });

  it('resolves jsonpickle py/id references and numeric vcs ids', () => {
    const text = JSON.stringify({
      'py/object': 'pybit.models.BuildRequest',
      job: {
        'py/object': 'pybit.models.Job',
        id: 1,
        packageinstance: {
          'py/object': 'pybit.models.PackageInstance',
          id: 1,
          package: { 'py/object': 'pybit.models.Package', id: 1, version: '1.0', name: 'x1' },
          arch: { 'py/object': 'pybit.models.Arch', id: 1, name: 'development' },
          build_env: null,
          suite: { 'py/id': 5 }, // the 5th object seen: the Arch above, reused (names happen to match)
          distribution: { 'py/object': 'pybit.models.Dist', id: 1, name: 'Debian' },
          format: { 'py/object': 'pybit.models.Format', id: 1, name: 'deb' },
          master: true,
        },
        buildclient: null,
      },
      transport: { 'py/object': 'pybit.models.Transport', id: null, method: 'git', uri: 'u', vcs_id: 7 },
      web_host: 'h',
      timestamp: 17,
    });
    const job = parseBuildRequest(text);
    expect(job.suite).toBe('development');
    expect(job.transport.vcsId).toBe('7');
    expect(job.timestamp).toBe(17);
  });

  it('rejects names that could escape a path or pass as options', () => {
    const bad = (o: Parameters<typeof makeBuildRequest>[0]) => () => parseBuildRequest(makeBuildRequest(o));
    const base = { package: 'hello', version: '1.0', arch: 'i386', method: 'git', uri: 'u' };
    expect(bad({ ...base, package: '../x' })).toThrow(BuildRequestError);
    expect(bad({ ...base, version: '1.0/../../x' })).toThrow(/version/);
    expect(bad({ ...base, arch: '-rf' })).toThrow(/architecture/);
    expect(bad({ ...base, suite: 'a/b' })).toThrow(/suite/);
    expect(bad({ ...base, method: '../git' })).toThrow(/method/);
    expect(() => parseBuildRequest({})).toThrow(/job/);
  });
});
