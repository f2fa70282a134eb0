// The original doctest (spec/seeds/000_e7f529917cb3d84d.txt), its builder-side steps replayed
// against our server with Python's xmlrpc.client: echo, ensurepresent from a "librarian" HTTP
// server, the file read back from /filecache/<sha1>, the IDLE status that makes the manager say
// "forgot about buildqueue", and the builder unreachable after tear-down.
import { afterEach, expect, it } from 'vitest';
import { pyCalls, sha1hex, startFileServer, startTestBuilder, unwrap, type TestBuilder } from './helpers';

let t: TestBuilder | null = null;
let librarian: Awaited<ReturnType<typeof startFileServer>> | null = null;
afterEach(async () => {
  await librarian?.close();
  await t?.close();
  t = librarian = null;
});

it('seed doctest: Buildd Slave echo, ensurepresent via the librarian, /filecache read-back, tear-down', async () => {
  t = await startTestBuilder();
  // >>> slave = xmlrpclib.Server('http://localhost:8221/rpc/')   (the doctest's trailing slash)
  const slave = `${t.url}/rpc/`;
  // >>> slave.echo('Hello World')
  expect(unwrap((await pyCalls([{ url: slave, method: 'echo', args: ['Hello World'] }]))[0]!)).toEqual(['Hello World']);

  // >>> alias = lc.addFile("HelloWorld.txt", len(helloworld), hw_sio, "text/plain")
  const helloworld = 'Hello World';
  librarian = await startFileServer({ '/1/HelloWorld.txt': helloworld });
  const sha1 = sha1hex(helloworld);
  // >>> present, info = slave.ensurepresent(lf.content.sha1, lf.http_url, "", "")
  const [present, info] = unwrap((await pyCalls([{ url: slave, method: 'ensurepresent', args: [sha1, `${librarian.url}/1/HelloWorld.txt`, '', ''] }]))[0]!);
  expect([present, info]).toEqual([true, 'Download']);

  // >>> f = urlopen("http://localhost:8221/filecache/" + lf.content.sha1); hw_str == helloworld
  const res = await fetch(`${t.url}/filecache/${sha1}`);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe(helloworld);

  // builder_set.scanActiveBuilders(...) -> "Builder http://localhost:8221/ forgot about buildqueue 1":
  // the manager thinks a job runs there, but the builder is IDLE and reports no build id.
  const status = unwrap((await pyCalls([{ url: slave, method: 'status' }]))[0]!);
  expect(status).toEqual({ builder_status: 'BuilderStatus.IDLE' });

  // >>> BuilddSlaveTestSetup().tearDown(); s.info()  ->  error: ...
  await t.close();
  t = null;
  const after = (await pyCalls([{ url: slave, method: 'info' }]))[0]!;
  expect(after).toHaveProperty('error');
  expect((after as { kind: string }).kind).toBe('ConnectionRefusedError');
});
