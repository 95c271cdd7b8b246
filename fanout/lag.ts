/** Fanout's lag figure is the Kafka module's group lag (core/kafka/lag.ts); re-exported for the console. */
export { groupLag, type PartitionLag } from '../core/kafka/lag.ts';
