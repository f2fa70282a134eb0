// The dashboard's activity aggregate: GET /api/v1/stats/activity, parsed with the shared schema.
import { ActivityResponse, activityRoute } from '@shared/activity-api';
import type { Http } from './http';

export async function fetchActivity(http: Http, hours: number, bucket?: number, signal?: AbortSignal): Promise<ActivityResponse> {
  const body = await http.get<unknown>(activityRoute.path, { hours, bucket }, signal);
  return ActivityResponse.parse(body);
}
