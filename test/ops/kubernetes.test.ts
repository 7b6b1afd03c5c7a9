// deploy/kubernetes/: the kustomization built (by `kubectl kustomize` where kubectl is installed,
// else from the files it lists), every object validated against the Kubernetes API schemas
// (kubernetes-models, and @kubernetes-models/prometheus-operator for the ServiceMonitor), the
// Deployment's operational promises checked, and the ConfigMap's config passed through the real
// `meridian validate`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { parse, parseAllDocuments } from 'yaml';
import { CLI, REPO_ROOT, writeTempConfig } from '../helpers/router-process.js';

const DIR = join(REPO_ROOT, 'deploy', 'kubernetes');

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<
  string,
  unknown
>;

/** The objects the kustomization produces. */
function build(): Obj[] {
  const k = spawnSync('kubectl', ['kustomize', DIR], { encoding: 'utf8' });
  if (!k.error) {
    assert.equal(k.status, 0, k.stderr);
    return parseAllDocuments(k.stdout).map((d) => d.toJSON() as Obj);
  }
  // No kubectl here: the same objects, read from the files the kustomization lists.
  const kz = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return kz.resources.flatMap((f) => {
    assert.ok(existsSync(join(DIR, f)), `${f} exists`);
    return parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => d.toJSON() as Obj);
  });
}

const MODELS: Record<string, new (o: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

const objects = build();
const byKind = (kind: string): Obj => {
  const o = objects.find((x) => x.kind === kind);
  assert.ok(o, `a ${kind}`);
  return o;
};

test('every object of the kustomization is valid against the Kubernetes API schema', () => {
  assert.deepEqual(
    objects.map((o) => o.kind).sort(),
    Object.keys(MODELS)
      .map((k) => k.split('/').at(-1))
      .sort(),
  );
  for (const o of objects) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    assert.ok(Model, `a schema for ${o.apiVersion} ${o.kind}`);
    assert.doesNotThrow(() => new Model(o as never).validate(), `${o.kind} ${o.metadata.name}`);
  }
  // The validator does catch a broken object (a string where the schema wants an integer).
  const broken = structuredClone(byKind('Deployment')) as unknown as { spec: { replicas: unknown } };
  broken.spec.replicas = 'three';
  assert.throws(() => new Deployment(broken as never).validate());
});

interface Container {
  args: string[];
  env: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  resources: { requests: Record<string, string> };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  lifecycle: { preStop: { exec: { command: string[] } } };
}

test('the Deployment: replicas, non-root, read-only root, probes, requests, preStop, grace above shutdownGrace', () => {
  const d = byKind('Deployment') as unknown as {
    spec: {
      replicas: number;
      template: { spec: { securityContext: { runAsNonRoot: boolean }; terminationGracePeriodSeconds: number; containers: Container[] } };
    };
  };
  assert.ok(d.spec.replicas >= 2);
  const pod = d.spec.template.spec;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  const c = pod.containers[0]!;
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  // probes use the probe-only listener (admin.metricsListen), never the port that can drain regions
  const config0 = parse(readFileSync(join(DIR, 'configmap.yaml'), 'utf8')) as { data: Record<string, string> };
  const metricsPort = Number(/metricsListen: [\d.]+:(\d+)/.exec(config0.data['meridian.yaml']!)?.[1]);
  const named = (name: unknown): number | undefined =>
    (c as unknown as { ports: { name: string; containerPort: number }[] }).ports.find((p) => p.name === name)?.containerPort;
  assert.equal(named((c.livenessProbe.httpGet as { port?: unknown }).port), metricsPort);
  assert.equal(named((c.readinessProbe.httpGet as { port?: unknown }).port), metricsPort);
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory);
  const sleepMs = Number(/setTimeout\(\(\) => \{\}, (\d+)\)/.exec(c.lifecycle.preStop.exec.command.join(' '))?.[1]);
  assert.ok(sleepMs >= 5000, 'preStop waits for the endpoint removal to spread');
  const config = parse(readFileSync(join(DIR, 'configmap.yaml'), 'utf8')) as { data: Record<string, string> };
  const grace = /shutdownGrace: (\d+)s/.exec(config.data['meridian.yaml']!)?.[1];
  assert.ok(pod.terminationGracePeriodSeconds > sleepMs / 1000 + Number(grace), 'SIGKILL only after preStop and shutdownGrace');
  const token = c.env.find((e) => e.name === 'MERIDIAN_ADMIN_TOKEN');
  assert.equal(token?.valueFrom?.secretKeyRef?.name, 'meridian-secrets', 'the admin token comes from a Secret');
  assert.ok(!objects.some((o) => o.kind === 'Secret'), 'no secret is committed in the kustomization');
});

test('NetworkPolicy: public port from anywhere, admin port only from meridian-admin pods; ServiceMonitor scrapes /metrics', () => {
  const np = byKind('NetworkPolicy') as unknown as {
    spec: { ingress: { from?: { podSelector?: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[] };
  };
  const publicRule = np.spec.ingress.find((r) => r.ports.some((p) => p.port === 8080));
  assert.ok(publicRule && publicRule.from === undefined);
  const adminRule = np.spec.ingress.find((r) => r.ports.some((p) => p.port === 9901));
  assert.deepEqual(
    adminRule?.from?.map((f) => f.podSelector?.matchLabels),
    [{ 'meridian-admin': 'true' }],
  );
  const sm = byKind('ServiceMonitor') as unknown as { spec: { endpoints: { port: string; path: string }[] } };
  assert.equal(sm.spec.endpoints[0]?.path, '/metrics');
  assert.equal(sm.spec.endpoints[0]?.port, 'metrics', 'Prometheus scrapes the probe-only port');
  const metricsRule = np.spec.ingress.find((r) => r.ports.some((p) => p.port === 9902));
  assert.ok(metricsRule && !metricsRule.ports.some((p) => p.port === 9901), 'the metrics port is open without opening admin');
});

test("the ConfigMap's config passes meridian validate", () => {
  const config = parse(readFileSync(join(DIR, 'configmap.yaml'), 'utf8')) as { data: Record<string, string> };
  const file = writeTempConfig(config.data['meridian.yaml']!);
  const env = {
    ...process.env,
    MERIDIAN_ADMIN_TOKEN: 'a-long-admin-token-for-the-test',
    MERIDIAN_RYW_SECRET: 'a-read-your-writes-secret-32chars',
  };
  const r = spawnSync(process.execPath, [CLI, 'validate', '--config', file], { encoding: 'utf8', env });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  // And the real validator is not a rubber stamp: a broken copy fails.
  const bad = writeTempConfig(config.data['meridian.yaml']!.replace('mode: active-active', 'mode: sideways'));
  assert.notEqual(spawnSync(process.execPath, [CLI, 'validate', '--config', bad], { encoding: 'utf8', env }).status, 0);
});
