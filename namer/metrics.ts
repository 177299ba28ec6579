// The namer's Prometheus metrics, on its admin port at /metrics.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { collectProcessMetrics } from "../lib/process-metrics.ts";
import type { DtabStore } from "./store/types.ts";

export interface NamerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"method" | "route" | "status">;
  readonly duration: Histogram<"method" | "route">;
  readonly watches: Gauge<"resource">;
  readonly writes: Counter<"action" | "result">;
}

export function createNamerMetrics(store: DtabStore): NamerMetrics {
  const registry = new Registry();
  collectProcessMetrics(registry);
  const metrics: NamerMetrics = {
    registry,
    requests: new Counter({ name: "namer_http_requests_total", help: "API requests by route and status", labelNames: ["method", "route", "status"], registers: [registry] }),
    duration: new Histogram({
      name: "namer_http_request_duration_seconds",
      help: "API request latency (watch streams excluded)",
      labelNames: ["method", "route"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    watches: new Gauge({ name: "namer_watch_streams", help: "Open watch streams", labelNames: ["resource"], registers: [registry] }),
    writes: new Counter({ name: "namer_dtab_writes_total", help: "Dtab writes that succeeded, by action", labelNames: ["action", "result"], registers: [registry] }),
  };
  new Gauge({
    name: "namer_store_writable",
    help: "1 when the dtab store accepts writes (Redis connected)",
    registers: [registry],
    collect() {
      this.set(store.health().writable ? 1 : 0);
    },
  });
  new Gauge({
    name: "namer_store_synced",
    help: "1 once the dtab store has loaded a full snapshot",
    registers: [registry],
    collect() {
      this.set(store.health().synced ? 1 : 0);
    },
  });
  new Gauge({
    name: "namer_dtab_namespaces",
    help: "Namespaces in the store",
    registers: [registry],
    async collect() {
      this.set((await store.list()).length);
    },
  });
  return metrics;
}
