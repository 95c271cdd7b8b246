/** gateway-proxy: the Discord-compatible websocket edge (README.md). */
export { startEdge, mountEdge, type Edge, type EdgeDeps, type MountedEdge } from './edge.ts';
export { loadEdgeConfig, edgeEnv, tokenSecret, type EdgeConfig, DEV_TOKEN_SECRET } from './config.ts';
export { EdgeGateway, type GatewayConfig, type GatewayDeps } from './gateway.ts';
export { gatewayRoutes, attachGateway, type GatewayRoutesOptions } from './server.ts';
export { botUser, createTokenSigner, TokenError, type BotUser, type TokenSigner, type AccessGrant } from './tokens.ts';
export { mintTokenCli } from './mint-token.ts';
export { createEdgeMetrics, type EdgeMetrics } from './metrics.ts';
export { startEdgeRole } from './role.ts';
export type { DeliverySource, DeliveryTarget, DeliveryLoss } from './delivery-source.ts';
export { kafkaDeliverySource } from './kafka-delivery-source.ts';
export { MemoryDeliverySource } from './memory-delivery-source.ts';
