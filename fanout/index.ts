/** fanout's public surface. */
export { FANOUT_KAFKA_CLIENT, fanoutEnv, loadFanoutConfig, type FanoutConfig } from './config.ts';
export { startFanout } from './role.ts';
export { groupLag, type PartitionLag } from './lag.ts';
export { dlqCli } from './dlq-cli.ts';
export { rewindCli } from './rewind-cli.ts';
