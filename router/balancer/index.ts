// The load balancers' public surface: the endpoint view and Balancer
// contract, the three balancers, the panic helper and the config block.
export type { BalancedEndpoint, Balancer, BalancerKind, PanicMode } from "./balancer.ts";
export { DEFAULT_PANIC_MODE, hasWeight, pickWithPanic } from "./balancer.ts";
export { DEFAULT_MAX_EFFORT, P2cBalancer } from "./p2c.ts";
export type { P2cOptions } from "./p2c.ts";
export { DEFAULT_DECAY_TIME_MS, EwmaBalancer, NEW_ENDPOINT_PENALTY } from "./ewma.ts";
export type { EwmaOptions } from "./ewma.ts";
export { RoundRobinBalancer } from "./round-robin.ts";
export type { RoundRobinOptions } from "./round-robin.ts";
export { balancerFromConfig, loadBalancerConfig, panicModeFromConfig } from "./config.ts";
export type { LoadBalancerConfig } from "./config.ts";
