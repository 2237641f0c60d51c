import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { packageRoot } from '../../src/paths.js';

/**
 * The deployment files checked offline in CI: every Kubernetes manifest against the Kubernetes
 * API's JSON schemas (kubernetes-models: the OpenAPI schemas of Kubernetes 1.27, compiled with
 * Ajv), and what the deployment guide promises of them; the compose file and the Dockerfile for
 * what they must hold.
 */

const dir = path.join(packageRoot, 'deploy/kubernetes');
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface Manifest {
  file: string;
  doc: Record<string, any>;
}

const manifests: Manifest[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
      return { file, doc: d.toJS() as Record<string, any> };
    }),
  );
const kinds = (kind: string) => manifests.filter((m) => m.doc.kind === kind);

describe('the Kubernetes manifests', () => {
  it.each(manifests.map((m) => [`${m.file} ${m.doc.kind} ${m.doc.metadata?.name}`, m] as const))('%s is valid against its Kubernetes schema', (_name, m) => {
    const Model = MODELS[`${m.doc.apiVersion}/${m.doc.kind}`];
    expect(Model, `no schema here for ${m.doc.apiVersion} ${m.doc.kind}`).toBeDefined();
    expect(() => new Model!(m.doc as never).validate()).not.toThrow();
  });

  it('the schema check catches a broken manifest', () => {
    const deployment = structuredClone(kinds('Deployment')[0]!.doc);
    deployment.spec.template.spec.containers[0].ports[0].containerPort = '8080';
    expect(() => new Deployment(deployment as never).validate()).toThrow(/containerPort must be integer/);
    const pdb = structuredClone(kinds('PodDisruptionBudget')[0]!.doc);
    pdb.apiVersion = 'policy/v1';
    pdb.spec.selector = 'app=scrubber';
    expect(() => new PodDisruptionBudget(pdb as never).validate()).toThrow();
  });

  it('has the service and the workers, each with probes on /readyz and /healthz, an HPA, a PodDisruptionBudget and config from the Secret', () => {
    const byName = new Map(kinds('Deployment').map((m) => [m.doc.metadata.name as string, m.doc]));
    expect([...byName.keys()].sort()).toEqual(['scrubber', 'scrubber-worker']);
    for (const [name, d] of byName) {
      const container = d.spec.template.spec.containers[0];
      expect(container.readinessProbe.httpGet.path, name).toBe('/readyz');
      expect(container.livenessProbe.httpGet.path, name).toBe('/healthz');
      expect(container.envFrom.map((e: any) => e.secretRef?.name).filter(Boolean), name).toEqual(['scrubber-secrets']);
      expect(d.spec.template.spec.securityContext.runAsNonRoot, name).toBe(true);
      expect(kinds('HorizontalPodAutoscaler').some((h) => h.doc.spec.scaleTargetRef.name === name), name).toBe(true);
      const labels = d.spec.template.metadata.labels;
      expect(kinds('PodDisruptionBudget').some((p) => Object.entries(p.doc.spec.selector.matchLabels).every(([k, v]) => labels[k] === v)), name).toBe(true);
    }
    const workerArgs = byName.get('scrubber-worker')!.spec.template.spec.containers[0].args;
    expect(workerArgs).toEqual(['worker']);
    const workerHpa = kinds('HorizontalPodAutoscaler').find((h) => h.doc.spec.scaleTargetRef.name === 'scrubber-worker')!.doc;
    expect(workerHpa.spec.metrics.map((m: any) => m.external?.metric.name).filter(Boolean)).toEqual(['scrub_queue_pending_claims']);
  });

  it('names only settings the scrubber reads, and none of the secrets outside the Secret', () => {
    const source = readFileSync(path.join(packageRoot, 'docs/queue.md'), 'utf8') + readFileSync(path.join(packageRoot, 'docs/operations.md'), 'utf8');
    const config = kinds('ConfigMap')[0]!.doc.data as Record<string, string>;
    const secret = kinds('Secret')[0]!.doc.stringData as Record<string, string>;
    for (const key of [...Object.keys(config), ...Object.keys(secret)]) expect(source, `${key} is documented`).toContain(key);
    for (const key of Object.keys(config)) expect(key).not.toMatch(/TOKEN|PASSWORD|SECRET|KEYS/);
  });
});

describe('the docker-compose trial', () => {
  const compose = parse(readFileSync(path.join(packageRoot, 'deploy/docker-compose.yml'), 'utf8'), { merge: true }) as Record<string, any>;

  it('runs nats with JetStream, postgres, the service and two workers', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['nats', 'postgres', 'scrubber', 'worker']);
    expect(compose.services.nats.command).toContain('-js');
    expect(compose.services.worker.command).toEqual(['worker']);
    expect(compose.services.worker.deploy.replicas).toBe(2);
    expect(compose.services.scrubber.command[0]).toBe('serve');
    for (const name of ['scrubber', 'worker']) {
      expect(compose.services[name].environment.SCRUB_NATS_URL).toBe('nats://nats:4222');
      expect(compose.services[name].environment.SCRUB_HISTORY_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
      expect(compose.services[name].build.context).toBe('..');
    }
  });
});

describe('the Dockerfile', () => {
  const text = readFileSync(path.join(packageRoot, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);

  it('builds in one stage and runs from another with production dependencies only, as a user other than root', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages.at(-1)!;
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist/);
    expect(runtime).toMatch(/^USER (?!root\b|0\b)\S+/m);
    expect(stages[0]).toMatch(/npm run build/);
  });

  it('copies files that exist, and everything the service reads at run time', () => {
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of m[1]!.split(/\s+/)) expect(() => readFileSync(path.join(packageRoot, source))).not.toThrow(/ENOENT/);
    }
    for (const needed of ['schemas', 'rules', 'examples/claims', 'package.json']) expect(text).toMatch(new RegExp(`^COPY .*\\b${needed}\\b`, 'm'));
  });
});
