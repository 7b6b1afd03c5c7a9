// Stage 3 of loading: rules that span keys, which the schema walk cannot see one value at a time —
// unique names and endpoints, references to regions, mode versus reads/writes, the damping limits —
// and the warnings about a valid config. Values that failed their own check are INVALID and skipped:
// their error is reported already, and a second one about the same mistake would only be noise.
import { INVALID, isValid, type Unchecked } from './check.js';
import { suggest } from './diagnostics.js';
import { MODE_SELECTORS, type RawConfig } from './schema.js';

/** Records an error at a key path (the loader knows where each path is in the file). */
type ReportAt = (path: string, message: string) => void;

type Invalid = typeof INVALID;

const itemsOf = <T>(v: readonly T[] | Invalid | null | undefined): readonly T[] => (isValid(v) ? v : []);

export function crossCheck(raw: Unchecked<RawConfig>, report: ReportAt): void {
  if (!isValid(raw)) return;
  const regions = itemsOf(raw.regions);
  const regionNames = uniqueNames(regions, 'regions', 'region', report);
  uniqueEndpoints(raw, report);
  uniqueNames(itemsOf(raw.routes), 'routes', 'route', report);
  uniqueNames(itemsOf(raw.residency), 'residency', 'residency rule', report);

  const known = new Set(regionNames);
  // Only complain about unknown references when the regions list itself is sound, to avoid noise.
  const regionsOk = isValid(raw.regions) && regions.every((r) => isValid(r) && isValid(r.name));
  const checkRef = (path: string, name: unknown): void => {
    if (!regionsOk || typeof name !== 'string' || known.has(name)) return;
    report(path, `unknown region \`${name}\`${suggest(name, regionNames)} (regions: ${regionNames.join(', ')})`);
  };
  const checkRefs = (path: string, list: readonly unknown[] | Invalid): void =>
    itemsOf(list).forEach((n, i) => checkRef(`${path}[${i}]`, n));

  if (isValid(raw.writes)) checkRefs('writes.regions', raw.writes.regions);
  checkRef('unknownLocation', raw.unknownLocation);
  itemsOf(raw.residency).forEach((rule, i) => {
    if (!isValid(rule)) return;
    const p = `residency[${i}]`;
    checkRefs(`${p}.regions`, rule.regions);
    checkRefs(`${p}.homeRegions`, rule.homeRegions);
    if (isValid(rule.countries) && isValid(rule.homeRegions) && rule.countries.length === 0 && rule.homeRegions.length === 0) {
      report(p, `residency rule \`${String(rule.name)}\` binds nobody: give \`countries\` or \`homeRegions\``);
    }
  });
  checkRoutes(raw, report);
  checkDamping(raw, report);
  checkAdminExposure(raw, report);
  const tls = raw.tls;
  if (isValid(tls) && tls.cert !== INVALID && tls.key !== INVALID && (tls.cert == null) !== (tls.key == null)) {
    report(tls.cert == null ? 'tls.key' : 'tls.cert', 'give `tls.cert` and `tls.key` together (or `tls.certificates`)');
  }
}

/** An admin listener others can reach must authenticate the POSTs that move traffic. */
function checkAdminExposure(raw: Exclude<Unchecked<RawConfig>, Invalid>, report: ReportAt): void {
  const admin = raw.admin;
  if (!isValid(admin) || !isValid(admin.listen) || admin.token === INVALID) return;
  const host = admin.listen.host;
  if (typeof host !== 'string' || isLoopback(host) || (typeof admin.token === 'string' && admin.token !== '')) return;
  report(
    'admin.listen',
    `the admin listener on ${host} is reachable from other hosts but admin.token is not set, so anyone reaching it could drain regions or move writes; set admin.token (e.g. token: \${MERIDIAN_ADMIN_TOKEN}) or listen on 127.0.0.1`,
  );
}

/** The names of the valid items, first occurrences in order; a repeat is an error. */
function uniqueNames(items: readonly Unchecked<{ name: string }>[], listPath: string, what: string, report: ReportAt): string[] {
  const names: string[] = [];
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    if (!isValid(item) || typeof item.name !== 'string') return;
    const prev = first.get(item.name);
    if (prev !== undefined) {
      report(`${listPath}[${i}].name`, `duplicate ${what} name \`${item.name}\` (first defined at ${listPath}[${prev}])`);
    } else {
      first.set(item.name, i);
      names.push(item.name);
    }
  });
  return names;
}

/** Health state is keyed by endpoint URL: one URL in two places would mix their probes and ejections. */
function uniqueEndpoints(raw: Exclude<Unchecked<RawConfig>, Invalid>, report: ReportAt): void {
  const endpointAt = new Map<string, string>();
  itemsOf(raw.regions).forEach((r, i) => {
    if (!isValid(r)) return;
    itemsOf(r.endpoints).forEach((e, j) => {
      if (typeof e !== 'string') return;
      const here = `regions[${i}].endpoints[${j}]`;
      const prev = endpointAt.get(e);
      if (prev !== undefined) report(here, `endpoint ${e} is already listed at ${prev}; each endpoint belongs to one region, once`);
      else endpointAt.set(e, here);
    });
  });
}

/** Either a mode or both selectors; a route that sends requests to the write region needs one. */
function checkRoutes(raw: Exclude<Unchecked<RawConfig>, Invalid>, report: ReportAt): void {
  const writeRegions = isValid(raw.writes) && isValid(raw.writes.regions) ? raw.writes.regions : null;
  itemsOf(raw.routes).forEach((route, i) => {
    if (!isValid(route)) return;
    const p = `routes[${i}]`;
    const hasReads = route.reads !== null;
    const hasWrites = route.writes !== null;
    if (isValid(route.mode) && (hasReads || hasWrites)) {
      const other = hasReads ? 'reads' : 'writes';
      report(`${p}.${other}`, `give either \`mode\` or both \`reads\` and \`writes\`, not both (mode is \`${route.mode}\`)`);
      return;
    }
    if (!isValid(route.mode) && hasReads !== hasWrites) {
      const missing = hasReads ? 'writes' : 'reads';
      report(`${p}.${hasReads ? 'reads' : 'writes'}`, `\`${missing}\` is missing: give both \`reads\` and \`writes\`, or a \`mode\``);
      return;
    }
    if (route.mode === INVALID || route.reads === INVALID || route.writes === INVALID) return;
    const sel = route.mode !== null ? MODE_SELECTORS[route.mode] : { reads: route.reads, writes: route.writes };
    if ((sel.reads === 'primary' || sel.writes === 'primary') && writeRegions !== null && writeRegions.length === 0) {
      const where = route.mode !== null ? `${p}.mode` : sel.writes === 'primary' ? `${p}.writes` : `${p}.reads`;
      const what = route.mode !== null ? `mode \`${route.mode}\`` : 'selector `primary`';
      report(where, `${what} sends requests to the write region, but \`writes.regions\` is empty; list the regions that may take writes`);
    }
  });
}

function checkDamping(raw: Exclude<Unchecked<RawConfig>, Invalid>, report: ReportAt): void {
  const d = isValid(raw.health) ? raw.health.damping : null;
  if (!isValid(d) || typeof d.reuseLimit !== 'number' || typeof d.suppressLimit !== 'number' || typeof d.maxPenalty !== 'number') return;
  if (d.reuseLimit >= d.suppressLimit) {
    report(
      'health.damping.reuseLimit',
      `must be below health.damping.suppressLimit (${d.suppressLimit}), or a suppressed region could never be reused`,
    );
  }
  if (d.suppressLimit > d.maxPenalty) {
    report(
      'health.damping.suppressLimit',
      `must not exceed health.damping.maxPenalty (${d.maxPenalty}), or suppression could never happen`,
    );
  }
}

/** Advice about a valid config: it loads, but something in it is probably not what was meant. */
export function configWarnings(raw: RawConfig, file: string): string[] {
  const w: string[] = [];
  if (raw.health.timeout >= raw.health.interval) {
    w.push(`${file}: health.timeout (${raw.health.timeout}ms) is not below health.interval (${raw.health.interval}ms); probes may overlap`);
  }
  // in a fleet the routers agree on a key in etcd, which survives restarts
  if (raw.readYourWrites.secret === null && raw.fleet === null && raw.routes.some((r) => r.readYourWrites > 0)) {
    w.push(
      `${file}: readYourWrites.secret is not set; a random key is generated at start, so read-your-writes cookies break on restart and across routers`,
    );
  }
  raw.clientIp.trustedProxies.forEach((cidr, i) => {
    if (cidr.endsWith('/0')) {
      w.push(
        `${file}: clientIp.trustedProxies[${i}] ${cidr} trusts every address: any client can claim to be anyone (and anywhere) through X-Forwarded-For; list only your load balancers`,
      );
    }
  });
  return w;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
