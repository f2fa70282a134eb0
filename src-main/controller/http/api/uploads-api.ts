// POST /api/v1/uploads: a source package as dput uploads it (a .dsc, or a .changes naming one,
// plus every file they list, as multipart file parts; optional fields distribution, suite,
// format, architecture_list). Checksums are verified before anything is stored.
import type { FastifyInstance } from 'fastify';
import { builderRoutes } from '@shared/builders-api';
import type { AuthDeps } from '../pybit/common';
import { checkText } from '../pybit/common';
import { HttpError } from '../errors';
import { keepMultipartParts, readMultipart } from '../../lp/multipart';
import { handleUpload, type UploadFields } from '../../lp/uploads';
import { requireApiUser } from './read-common';

const MAX_SOURCE_FILE = 512 * 1024 * 1024;
const FIELDS = ['distribution', 'suite', 'format', 'architecture_list'] as const;

export function registerUploadsApi(app: FastifyInstance, deps: AuthDeps): void {
  app.post(builderRoutes.uploads, keepMultipartParts(), async (req, reply) => {
    await requireApiUser(deps, req, reply);
    const mp = await readMultipart(req, { fileSize: MAX_SOURCE_FILE, files: 20 });
    if (!mp) throw new HttpError(415, 'send multipart/form-data: the .dsc (or .changes) and its files as file parts');
    const fields: UploadFields = {};
    for (const [k, v] of Object.entries(mp.fields)) {
      if (!(FIELDS as readonly string[]).includes(k)) throw new HttpError(400, `unknown field '${k}' (known: ${FIELDS.join(', ')})`);
      checkText(k, v, 200);
      if (v !== '') fields[k as (typeof FIELDS)[number]] = v;
    }
    if (!mp.files.length) throw new HttpError(400, 'file: no files uploaded');
    const res = await handleUpload(deps.ctx, mp.files.map((f) => ({ name: f.name, data: f.data })), fields);
    return reply.code(201).send(res);
  });
}
