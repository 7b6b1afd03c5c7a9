import { factsFromExplain } from '../identity/facts.js';
import type { GeoSource } from '../identity/geoip.js';
import type { Runtime } from '../proxy/runtime.js';
import { decide } from '../routing/decide.js';
import { NO_STEERING, type Steering } from '../routing/steer.js';
import { explainJson } from '../routing/explain.js';
import type { HealthView } from '../types.js';

/** GET /admin/explain?ip=&method=&path=&host=&userKey=&homeRegion= → the decision as JSON. */
export function explainQuery(
  params: URLSearchParams,
  rt: Runtime,
  geo: GeoSource,
  view: HealthView,
  now: number,
  steering: Steering = NO_STEERING,
): unknown {
  const get = (k: string): string | undefined => params.get(k) ?? undefined;
  const facts = factsFromExplain(
    { ip: get('ip'), method: get('method'), path: get('path'), host: get('host'), userKey: get('userKey'), homeRegion: get('homeRegion') },
    rt.snap,
    { geo, marks: rt.marks, now },
  );
  return explainJson(decide(rt.snap, facts, view, now, steering), facts);
}
