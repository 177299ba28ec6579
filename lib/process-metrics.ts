// Node's own process metrics (CPU, memory, heap, GC, event-loop lag) for a
// meshd process's Prometheus registry, the same for router and namer.
import { type Registry, collectDefaultMetrics } from "prom-client";

/**
 * How often the event-loop lag monitor samples (ms). prom-client's default,
 * 10 ms, wakes an idle daemon 100 times a second: about 0.7 % of a core
 * spent doing nothing on every host. At 100 ms a stall of 100 ms or more is
 * always seen and shorter ones are sampled.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
}
