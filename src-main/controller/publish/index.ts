// Publishing of Done jobs as a background service of the controller.
import type { Ctx } from '../context';
import { PublishService, type PublishOptions } from './publish-service';
import { attachPublishService } from './repo-routes';

export function startPublishing(ctx: Ctx, opts: PublishOptions): PublishService {
  const s = new PublishService(ctx, opts);
  attachPublishService(ctx, s);
  s.start();
  return s;
}

export { PublishService } from './publish-service';
