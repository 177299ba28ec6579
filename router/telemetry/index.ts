// The router's exporters, built from its `telemetry` block and replaced as
// a whole when a reload changes it: statsd sinks (fed by RouterMetrics) and
// the OTLP tracer the HTTP routers start spans with.
import type { Logger } from "../../lib/log.ts";
import type { TelemeterConfig } from "./config.ts";
import type { MetricsSink, RouterMetrics } from "./metrics.ts";
import { StatsdSink } from "./statsd.ts";
import { Tracer } from "./tracing.ts";

export interface Exporters {
  readonly sinks: readonly MetricsSink[];
  readonly tracer: Tracer | undefined;
}

export function startExporters(configs: readonly TelemeterConfig[], metrics: RouterMetrics, logger: Logger): Exporters {
  const sinks: MetricsSink[] = [];
  let tracer: Tracer | undefined;
  for (const config of configs) {
    if (config.kind === "io.l5d.statsd") sinks.push(new StatsdSink(config, metrics, logger));
    else if (config.kind === "meshd.otlp") tracer = new Tracer(config, metrics.spans, logger);
  }
  return { sinks, tracer };
}

/** Sends what the exporters still hold, then stops them. */
export async function closeExporters(exporters: Exporters): Promise<void> {
  await Promise.allSettled([...exporters.sinks.map((s) => s.close()), exporters.tracer?.close()]);
}
