// /api/v1/chroots: chroot tarballs for builders per (suite, arch[, environment]). Register one
// by uploading it (multipart: suite, arch, environment, file) or by the SHA-1 of a file already
// in the librarian (JSON; the way for large tarballs: POST /api/v1/files first).
import type { FastifyInstance } from 'fastify';
import { ChrootRegister, builderRoutes } from '@shared/builders-api';
import type { AuthDeps } from '../pybit/common';
import { HttpError } from '../errors';
import { checkFileName } from '../../store/file-store';
import { deleteChroot, listChroots, registerChroot, resolveChrootTarget } from '../../lp/chroots';
import { librarianFor } from '../../lp/librarian';
import { keepMultipartParts, readMultipart } from '../../lp/multipart';
import { parseBody, requireApiUser } from './read-common';

/** Uploaded chroot tarballs are held in memory while they arrive; bigger ones go through /api/v1/files. */
const MAX_CHROOT_UPLOAD = 256 * 1024 * 1024;

export function registerChrootsApi(app: FastifyInstance, deps: AuthDeps): void {
  const { ctx } = deps;

  app.get(builderRoutes.chroots, async () => listChroots(ctx));

  app.post(builderRoutes.chroots, keepMultipartParts(), async (req, reply) => {
    await requireApiUser(deps, req, reply);
    const mp = await readMultipart(req, { fileSize: MAX_CHROOT_UPLOAD, files: 1 });
    let info;
    if (mp) {
      const { suite, arch, environment, name } = mp.fields;
      const file = mp.files[0];
      if (!file) throw new HttpError(400, "file: upload the chroot tarball as a file part (or send JSON with 'sha1')");
      const target = parseBody(ChrootRegister.omit({ sha1: true }), { suite, arch, environment, name });
      const fileName = checkFileName(target.name ?? file.name, 'file name');
      await resolveChrootTarget(ctx, target); // before storing the tarball
      const stored = await librarianFor(ctx).put(file.data, fileName);
      info = await registerChroot(ctx, target, stored.sha1, fileName);
    } else {
      const body = parseBody(ChrootRegister, req.body ?? {});
      info = await registerChroot(ctx, body, body.sha1, body.name);
    }
    return reply.code(201).send(info);
  });

  app.delete(builderRoutes.chroot, async (req, reply) => {
    await requireApiUser(deps, req, reply);
    const raw = (req.params as { id?: string }).id ?? '';
    if (!/^\d{1,15}$/.test(raw)) throw new HttpError(400, `id: must be a positive integer, got '${raw.slice(0, 40)}'`);
    await deleteChroot(ctx, Number(raw));
    return reply.code(204).send();
  });
}
