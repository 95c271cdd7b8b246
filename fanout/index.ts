/** fanout's public surface. */
export { fanoutEnv, loadFanoutConfig, type FanoutConfig } from './config.ts';
export { startFanout } from './role.ts';
export { groupLag, type PartitionLag } from './lag.ts';
