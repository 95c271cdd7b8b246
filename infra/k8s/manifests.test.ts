import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Kafka, KafkaNodePool, KafkaTopic } from '@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';

/**
 * The schema check runnable here in place of `kubectl apply --dry-run=client`: every manifest is
 * validated against the Kubernetes, Strimzi and KEDA OpenAPI schemas (kubernetes-models). Scylla
 * Operator publishes no such package, so its ScyllaCluster gets the structural checks below.
 */
type Model = new (data: never) => { validate(): void };
const models: Record<string, Model> = {
  'v1/Namespace': Namespace as Model,
  'v1/ConfigMap': ConfigMap as Model,
  'v1/Secret': Secret as Model,
  'v1/Service': Service as Model,
  'apps/v1/Deployment': Deployment as Model,
  'apps/v1/StatefulSet': StatefulSet as Model,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as Model,
  'kafka.strimzi.io/v1beta2/Kafka': Kafka as Model,
  'kafka.strimzi.io/v1beta2/KafkaNodePool': KafkaNodePool as Model,
  'kafka.strimzi.io/v1beta2/KafkaTopic': KafkaTopic as Model,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject as Model,
};

const dir = fileURLToPath(new URL('.', import.meta.url));
const docs = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(`${dir}/${file}`, 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return { file, object: doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any } };
    }),
  )
  .filter((d) => d.object);

describe('infra/k8s manifests', () => {
  it.each(docs.map((d) => [`${d.file} ${d.object.kind} ${d.object.metadata?.name}`, d] as const))('%s is valid', (_name, { object }) => {
    const key = `${object.apiVersion}/${object.kind}`;
    if (key === 'scylla.scylladb.com/v1/ScyllaCluster') {
      expect(object.spec.datacenter.name).toMatch(/^[a-z0-9-]+$/);
      for (const rack of object.spec.datacenter.racks) {
        expect(rack.members).toBeGreaterThan(0);
        expect(rack.storage.capacity).toMatch(/^\d+[GT]i$/);
      }
      return;
    }
    const model = models[key];
    expect(model, `no schema known for ${key}`).toBeDefined();
    expect(() => new model!(object as never).validate()).not.toThrow();
    if (object.kind !== 'Namespace') expect(object.metadata.namespace).toBe('guildcast');
  });

  it('caps fanout autoscaling at the partition count of the events topic', () => {
    const topic = docs.find((d) => d.object.kind === 'KafkaTopic' && d.object.metadata.name === 'guildcast.events')!.object;
    const deliveries = docs.find((d) => d.object.kind === 'KafkaTopic' && d.object.metadata.name === 'guildcast.deliveries')!.object;
    const scaler = docs.find((d) => d.object.kind === 'ScaledObject')!.object;
    const config = docs.find((d) => d.object.kind === 'ConfigMap')!.object as unknown as { data: Record<string, string> };
    expect(scaler.spec.maxReplicaCount).toBe(topic.spec.partitions);
    expect(deliveries.spec.partitions).toBe(topic.spec.partitions);
    expect(Number(config.data.KAFKA_EVENT_PARTITIONS)).toBe(topic.spec.partitions);
    expect(scaler.spec.triggers[0].metadata.topic).toBe(topic.metadata.name);
  });

  it('gives every role readiness and liveness probes and resource requests', () => {
    const workloads = docs.filter((d) => d.object.kind === 'Deployment' || d.object.kind === 'StatefulSet');
    expect(workloads.map((w) => w.object.spec.template.metadata.labels['app.kubernetes.io/component']).sort()).toEqual(['api', 'edge', 'fanout', 'ingest']);
    for (const w of workloads)
      for (const c of w.object.spec.template.spec.containers) {
        expect(c.readinessProbe.httpGet.path).toBe('/readyz');
        expect(c.livenessProbe.httpGet.path).toBe('/healthz');
        expect(c.resources.requests.cpu).toBeDefined();
      }
  });
});
