// The Kubernetes packaging (issue 13): the plain manifests of deploy/kubernetes/ and the Helm chart
// of deploy/helm/sluice/ (rendered by the real `helm template` with its default values, and with
// Redis and autoscaling off under another release name) are parsed object by object and must agree
// with the Sluice configuration they carry:
//  - the container ports are the Gateway's listener and admin ports, the Service targets the
//    listener and never the admin port;
//  - readiness is /readyz and liveness /healthz, both on the admin port;
//  - the configuration volume is a ConfigMap mounted as a whole directory (no subPath, so the
//    kubelet's `..data` swap reaches `--watch`) exactly where `-c` points, and `--watch` is on;
//  - terminationGracePeriodSeconds outlasts the preStop pause plus the Gateway's drainTimeout;
//  - the PodDisruptionBudget and the HorizontalPodAutoscaler select / scale the gateway's pods;
//  - spec.redis names the Redis Service and its port (and nothing needs Redis when it is off);
//  - every pod runs as a non-root user on a read-only root file system;
//  - the ConfigMap's files pass the real `sluice validate`, with the environment the pod gets from
//    its Secret (so the `${VAR}`s of the Sluice Secrets resolve).
// helm comes from tools/helm (`make node-deps`); without it the chart tests skip, except in CI
// (CI set), where they fail.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { binDir, tempDir } from '../lib/harness.mjs';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const manifestsDir = path.join(repo, 'deploy/kubernetes');
const chartDir = path.join(repo, 'deploy/helm/sluice');
const helm = process.env.HELM ?? path.join(repo, 'tools/helm/bin/helm');
const helmMissing = !existsSync(helm);

const temps = [];
after(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function parseObjects(text, origin) {
  const objects = [];
  for (const doc of parseAllDocuments(text)) {
    assert.deepEqual(doc.errors, [], `${origin}: YAML errors`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

function plainManifests() {
  const files = readdirSync(manifestsDir).filter((name) => /\.ya?ml$/.test(name));
  assert.ok(files.length > 0, 'deploy/kubernetes has manifests');
  return files.flatMap((name) =>
    parseObjects(readFileSync(path.join(manifestsDir, name), 'utf8'), `deploy/kubernetes/${name}`),
  );
}

function helmRun(args) {
  const run = spawnSync(helm, args, { encoding: 'utf8' });
  assert.equal(run.status, 0, `helm ${args.join(' ')}:\n${run.stderr}`);
  return run.stdout;
}

function needHelm(t) {
  if (!helmMissing) return true;
  if (process.env.CI) assert.fail(`helm is missing at ${helm}: make node-deps unzips it there`);
  t.skip(`helm is missing at ${helm} (run make node-deps); the chart is not checked`);
  return false;
}

const renderChart = (release, values = []) =>
  parseObjects(helmRun(['template', release, chartDir, ...values.flatMap((v) => ['--set', v])]), `helm template ${release}`);

const seconds = (duration) => {
  const parts = [...String(duration).matchAll(/(\d+)(ms|s|m|h)/g)];
  assert.ok(parts.length > 0, `duration ${duration}`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 };
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u], 0);
};

const isSubset = (small, big) => Object.entries(small ?? {}).every(([k, v]) => big?.[k] === v);
const ofKind = (objects, kind) => objects.filter((o) => o.kind === kind);
const byName = (objects, kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name);

// The gateway Deployment: the one whose pods run the `sluice` container.
function gatewayDeployment(objects) {
  const found = ofKind(objects, 'Deployment').filter((d) =>
    d.spec.template.spec.containers.some((c) => c.name === 'sluice'),
  );
  assert.equal(found.length, 1, 'exactly one Deployment runs the sluice container');
  const deployment = found[0];
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'sluice');
  return { deployment, container };
}

const containerPort = (container, port) =>
  typeof port === 'number' ? port : container.ports.find((p) => p.name === port)?.containerPort;

// The Sluice resources of the ConfigMap the container's -c directory is, written to a temp dir.
function sluiceConfig(objects, deployment, container) {
  const args = container.args;
  const configDir = args[args.indexOf('-c') + 1];
  assert.equal(args[0], 'serve');
  assert.ok(configDir, 'args name the configuration with -c');
  const mount = container.volumeMounts.find((m) => m.mountPath === configDir);
  assert.ok(mount, `a volume is mounted at -c ${configDir}`);
  assert.equal(mount.subPath, undefined, 'mounted as a directory (subPath would freeze the files)');
  const volume = deployment.spec.template.spec.volumes.find((v) => v.name === mount.name);
  assert.ok(volume?.configMap, `volume ${mount.name} is a ConfigMap`);
  const configMap = byName(objects, 'ConfigMap', volume.configMap.name);
  assert.ok(configMap, `ConfigMap ${volume.configMap.name} is defined`);

  const dir = tempDir('sluice-deploy-');
  temps.push(dir);
  const resources = [];
  for (const [file, text] of Object.entries(configMap.data)) {
    writeFileSync(path.join(dir, file), text);
    if (/\.ya?ml$/.test(file)) resources.push(...parseObjects(text, `ConfigMap ${configMap.metadata.name} ${file}`));
  }
  const gateway = resources.find((r) => r.kind === 'Gateway');
  assert.ok(gateway, 'the configuration has a Gateway');
  return { dir, resources, gateway };
}

// The environment the pod's container gets from Secrets (env secretKeyRef and envFrom secretRef).
function secretEnvironment(objects, container) {
  const secretValues = (name) => {
    const secret = byName(objects, 'Secret', name);
    assert.ok(secret, `Secret ${name} is defined`);
    const values = { ...secret.stringData };
    for (const [k, v] of Object.entries(secret.data ?? {})) values[k] ??= Buffer.from(v, 'base64').toString();
    return values;
  };
  const env = {};
  for (const source of container.envFrom ?? []) {
    if (source.secretRef) Object.assign(env, secretValues(source.secretRef.name));
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      const value = secretValues(ref.name)[ref.key];
      assert.ok(value !== undefined, `Secret ${ref.name} has key ${ref.key} (env ${variable.name})`);
      env[variable.name] = value;
    } else if (variable.value !== undefined) {
      env[variable.name] = variable.value;
    }
  }
  return env;
}

function checkNonRoot(deployment) {
  const pod = deployment.spec.template.spec;
  for (const container of pod.containers) {
    const context = { ...pod.securityContext, ...container.securityContext };
    assert.equal(context.runAsNonRoot, true, `${deployment.metadata.name}/${container.name}: runAsNonRoot`);
    assert.ok(Number.isInteger(context.runAsUser) && context.runAsUser > 0, `${container.name}: a numeric non-root user`);
    assert.equal(context.readOnlyRootFilesystem, true, `${container.name}: read-only root file system`);
    assert.equal(context.allowPrivilegeEscalation, false, `${container.name}: no privilege escalation`);
    assert.deepEqual(context.capabilities?.drop, ['ALL'], `${container.name}: drops every capability`);
  }
}

function checkObjects(objects, { redis, autoscaling }) {
  const { deployment, container } = gatewayDeployment(objects);
  const podLabels = deployment.spec.template.metadata.labels;
  assert.ok(isSubset(deployment.spec.selector.matchLabels, podLabels), 'the Deployment selects its own pods');
  const { dir, resources, gateway } = sluiceConfig(objects, deployment, container);

  // --watch, so the ConfigMap's updates are applied.
  assert.ok(container.args.includes('--watch'), `args ${container.args.join(' ')} include --watch`);

  // Ports: container ports are the Gateway's; the Service targets the listener, not the admin port.
  const listenerPorts = gateway.spec.listeners.map((l) => l.port);
  const adminPort = gateway.spec.admin?.port ?? 9901;
  assert.notEqual(gateway.spec.admin?.address ?? '127.0.0.1', '127.0.0.1', 'the kubelet can reach the admin listener');
  const declared = container.ports.map((p) => p.containerPort);
  for (const port of [...listenerPorts, adminPort]) assert.ok(declared.includes(port), `container port ${port} declared`);
  for (const port of declared) assert.ok([...listenerPorts, adminPort].includes(port), `container port ${port} is the Gateway's`);
  const services = ofKind(objects, 'Service').filter((s) => isSubset(s.spec.selector, podLabels));
  assert.equal(services.length, 1, 'one Service selects the gateway pods');
  for (const port of services[0].spec.ports) {
    const target = containerPort(container, port.targetPort ?? port.port);
    assert.ok(listenerPorts.includes(target), `Service port ${port.port} targets a listener (${target})`);
    assert.notEqual(target, adminPort, 'the admin port stays out of the Service');
  }

  // Probes on the admin listener.
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(containerPort(container, container.readinessProbe.httpGet.port), adminPort);
  assert.equal(container.livenessProbe.httpGet.path, '/healthz');
  assert.equal(containerPort(container, container.livenessProbe.httpGet.port), adminPort);

  // Termination: preStop, then the drain, within the grace period.
  const drain = seconds(gateway.spec.limits?.drainTimeout ?? '30s');
  const preStop = container.lifecycle?.preStop;
  assert.ok(preStop?.sleep || preStop?.exec || preStop?.httpGet, 'a preStop hook');
  const pause = preStop.sleep?.seconds ?? 0;
  const grace = deployment.spec.template.spec.terminationGracePeriodSeconds;
  assert.ok(grace > pause + drain, `terminationGracePeriodSeconds ${grace} > preStop ${pause} + drainTimeout ${drain}`);

  // Replicas, PodDisruptionBudget, HorizontalPodAutoscaler.
  const hpas = ofKind(objects, 'HorizontalPodAutoscaler');
  if (autoscaling) {
    assert.equal(hpas.length, 1, 'a HorizontalPodAutoscaler');
    assert.deepEqual(hpas[0].spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    assert.ok(hpas[0].spec.minReplicas >= 2, 'at least 2 replicas');
    assert.ok(hpas[0].spec.maxReplicas >= hpas[0].spec.minReplicas);
  } else {
    assert.equal(hpas.length, 0, 'no HorizontalPodAutoscaler');
  }
  if (deployment.spec.replicas !== undefined || !autoscaling) {
    assert.ok(deployment.spec.replicas >= 2, `replicas ${deployment.spec.replicas} >= 2`);
  }
  const pdbs = ofKind(objects, 'PodDisruptionBudget');
  assert.equal(pdbs.length, 1, 'a PodDisruptionBudget');
  assert.ok(isSubset(pdbs[0].spec.selector.matchLabels, podLabels), 'the PodDisruptionBudget selects the gateway pods');
  assert.ok(
    !ofKind(objects, 'Deployment').some((d) => d !== deployment && isSubset(pdbs[0].spec.selector.matchLabels, d.spec.template.metadata.labels)),
    'the PodDisruptionBudget selects no other pods',
  );

  // Redis: spec.redis names the Redis Service and port, whose pods listen there.
  const needsRedis = resources.some((r) => r.kind === 'TrafficPolicy' && r.spec?.rateLimit?.global);
  if (redis) {
    const address = gateway.spec.redis?.address;
    assert.ok(address, 'the Gateway has spec.redis');
    const [host, port = '6379'] = address.split(':');
    const service = byName(objects, 'Service', host);
    assert.ok(service, `spec.redis ${address}: Service ${host} is defined`);
    const servicePort = service.spec.ports.find((p) => p.port === Number(port));
    assert.ok(servicePort, `Service ${host} has port ${port}`);
    const redisDeployment = ofKind(objects, 'Deployment').find((d) => isSubset(service.spec.selector, d.spec.template.metadata.labels));
    assert.ok(redisDeployment && redisDeployment !== deployment, `Service ${host} selects the Redis Deployment`);
    const redisContainer = redisDeployment.spec.template.spec.containers[0];
    assert.ok(
      redisContainer.ports.some((p) => p.containerPort === containerPort(redisContainer, servicePort.targetPort ?? servicePort.port)),
      'the Redis Service targets the Redis container port',
    );
    assert.match(redisContainer.image, /redis|valkey/);
  } else {
    assert.equal(gateway.spec.redis, undefined, 'no spec.redis');
    assert.equal(ofKind(objects, 'Deployment').length, 1, 'no Redis Deployment');
    assert.ok(!needsRedis, 'no global limit without Redis');
  }

  for (const d of ofKind(objects, 'Deployment')) checkNonRoot(d);

  // The configuration validates, with the environment the pod gets from its Secret.
  const env = { PATH: process.env.PATH, ...secretEnvironment(objects, container) };
  const run = spawnSync(path.join(binDir, 'sluice'), ['validate', '-c', dir], { env, encoding: 'utf8' });
  assert.equal(run.status, 0, `sluice validate of the ConfigMap:\n${run.stderr}`);
  assert.match(run.stdout, /OK \(\d+ resources\)/);
  return objects;
}

const kinds = (objects) => [...new Set(objects.map((o) => o.kind).filter((k) => k !== 'Kustomization'))].sort();

test('deploy/kubernetes: every file parses and the objects agree with their Sluice configuration', () => {
  const objects = plainManifests();
  checkObjects(objects, { redis: true, autoscaling: true });
  const kustomization = objects.find((o) => o.kind === 'Kustomization');
  // Every manifest but the example Secret, which would replace a real key with its placeholder.
  const files = readdirSync(manifestsDir)
    .filter((n) => /\.ya?ml$/.test(n) && !['kustomization.yaml', 'secret.yaml'].includes(n))
    .sort();
  assert.deepEqual([...kustomization.resources].sort(), files, 'kustomization.yaml lists every manifest but secret.yaml');
});

test('helm lint accepts the chart', (t) => {
  if (!needHelm(t)) return;
  helmRun(['lint', '--strict', chartDir]);
  helmRun(['lint', '--strict', chartDir, '--set', 'redis.enabled=false', '--set', 'autoscaling.enabled=false']);
});

test('the chart with its default values renders the plain manifests\' objects, consistent', (t) => {
  if (!needHelm(t)) return;
  const objects = renderChart('sluice');
  checkObjects(objects, { redis: true, autoscaling: true });
  assert.deepEqual(kinds(objects), kinds(plainManifests()), 'the same kinds of objects as deploy/kubernetes');
});

test('the chart without Redis and autoscaling, under another release name, stays consistent', (t) => {
  if (!needHelm(t)) return;
  const objects = renderChart('edge', [
    'redis.enabled=false',
    'autoscaling.enabled=false',
    'replicaCount=3',
    'gateway.port=9090',
    'gateway.adminPort=9902',
    'gateway.drainTimeoutSeconds=90',
    'extraArgs={--workers,4}',
  ]);
  checkObjects(objects, { redis: false, autoscaling: false });
  const { deployment, container } = gatewayDeployment(objects);
  assert.equal(deployment.metadata.name, 'edge-sluice');
  assert.equal(deployment.spec.replicas, 3);
  assert.deepEqual(container.args, ['serve', '-c', '/etc/sluice', '--watch', '--workers', '4']);
  assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, 5 + 90 + 10);
});

test('the chart with an external Redis points spec.redis at it and renders no Redis of its own', (t) => {
  if (!needHelm(t)) return;
  const objects = renderChart('sluice', ['redis.enabled=false', 'redis.external.address=redis.shared.svc:6380']);
  const { deployment, container } = gatewayDeployment(objects);
  const { gateway, resources } = sluiceConfig(objects, deployment, container);
  assert.equal(gateway.spec.redis.address, 'redis.shared.svc:6380');
  assert.equal(ofKind(objects, 'Deployment').length, 1, 'no Redis Deployment');
  assert.ok(resources.some((r) => r.kind === 'TrafficPolicy' && r.spec.rateLimit.global), 'the shared limits are kept');
});
