// The buildd-manager against a real launchpad-buildd face building with dpkg-buildpackage:
// upload → dispatch (ensurepresent of the chroot and every source file from the librarian,
// build()) → BUILDING → WAITING OK → results and log collected into the librarian → clean().
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/db';
import { getBytes, HOST_ARCH, startFace, startFarm, waitFor, type Face, type Farm } from './helpers';

let farm: Farm | null = null;
const faces: Face[] = [];
afterEach(async () => {
  await farm?.close();
  farm = null;
  for (const f of faces.splice(0)) await f.close();
});

const kill = { afterInterruptMs: 500, afterTerminateMs: 500 };

describe.each(DIALECTS)('dispatch, build, collect, clean with the dpkg backend ($name)', ({ make }) => {
  it('builds an uploaded package on a builder and collects the results', async () => {
    farm = await startFarm(make);
    const face = await startFace({ backend: 'dpkg', backendOptions: { kill } });
    faces.push(face);
    expect((await farm.addChroot()).status).toBe(201);
    const { pkg, res } = await farm.upload({ variant: 'ok', name: 'bblp-ok' });
    expect(res.status, res.text).toBe(201);
    const jobId: number = res.json().jobIds[0];
    expect((await farm.addBuilder('dpkg-1', face.url)).status).toBe(201);

    await waitFor('the job to be built', async () => (await farm!.job(jobId)).status === 'Done', 60_000);
    const job = await farm.job(jobId);
    expect(job).toMatchObject({ status: 'Done', result: 'OK', lease_owner: null });
    expect(await farm.history(jobId)).toEqual(['Waiting', 'Building', 'Done']);

    // The .deb, the .changes and the build log are in the librarian and match the builder's SHA-1s.
    const arts = await farm.c.ctx.db.kysely.selectFrom('artifacts').selectAll().where('job_id', '=', jobId).execute();
    const names = arts.map((a) => a.name);
    expect(names).toEqual(
      expect.arrayContaining([`${pkg.name}_${pkg.version}_${HOST_ARCH}.deb`, `${pkg.name}_${pkg.version}_${HOST_ARCH}.changes`, `buildlog_Debian-${farm.suite}-${HOST_ARCH}.${pkg.name}_${pkg.version}_FULLYBUILT.txt`]),
    );
    for (const a of arts) {
      const { body } = await getBytes(`${farm.url}/files/${a.sha1}/${encodeURIComponent(a.name)}`);
      expect(createHash('sha1').update(body).digest('hex')).toBe(a.sha1);
      if (a.name.startsWith('buildlog_')) expect(body.toString()).toContain('RUN: dpkg-buildpackage');
    }

    // Afterwards the builder is cleaned: IDLE and CLEAN, ready for the next job.
    await waitFor('the builder to be clean', async () => {
      const b = await farm!.builder('dpkg-1');
      return b.cleanStatus === 'CLEAN' && b.lastStatus === 'BuilderStatus.IDLE';
    });
    expect(await face.server.builder.status()).toEqual({ builder_status: 'BuilderStatus.IDLE' });
    const b = await farm.builder('dpkg-1');
    expect(b).toMatchObject({ enabled: true, failureCount: 0, currentJob: null });
    expect(farm.lines).toContain(`Dispatching job ${jobId} (PACKAGEBUILD-${jobId}) to dpkg-1`);
  });

  it('a failing build is Failed/PACKAGEFAIL with its log kept; a missing build dependency is Blocked/DEPFAIL', async () => {
    farm = await startFarm(make);
    const face = await startFace({ backend: 'dpkg', backendOptions: { kill } });
    faces.push(face);
    await farm.addChroot();
    const fail = (await farm.upload({ variant: 'fail', name: 'bblp-fail' })).res.json().jobIds[0] as number;
    const dep = (await farm.upload({ variant: 'depfail', name: 'bblp-dep' })).res.json().jobIds[0] as number;
    await farm.addBuilder('dpkg-2', face.url);
    await waitFor('both jobs to finish', async () => (await farm!.job(fail)).status === 'Failed' && (await farm!.job(dep)).status === 'Blocked', 60_000);
    expect(await farm.job(fail)).toMatchObject({ result: 'PACKAGEFAIL' });
    expect(await farm.job(dep)).toMatchObject({ result: 'DEPFAIL', result_details: 'buildbox-nonexistent-package (>= 1.0)' });
    const logs = await farm.c.ctx.db.kysely.selectFrom('artifacts').select('name').where('job_id', '=', fail).execute();
    expect(logs.map((l) => l.name)).toEqual([expect.stringMatching(/^buildlog_.*_FAILEDTOBUILD\.txt$/)]);
  });
});
