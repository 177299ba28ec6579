// The router's exporters, built from its `telemetry` block and replaced as
// a whole when a reload changes it: statsd sinks (fed by RouterMetrics) and
// the OTLP tracer the HTTP routers start spans with. Each exporter's code
// (hot-shots for statsd) is loaded only when the config asks for it.
import type { Logger } from "../../lib/log.ts";
import type { TelemeterConfig } from "./config.ts";
import type { MetricsSink, RouterMetrics } from "./metrics.ts";
import type { Tracer } from "./tracing.ts";

export interface Exporters {
  readonly sinks: readonly MetricsSink[];
  readonly tracer: Tracer | undefined;
}

export async function startExporters(configs: readonly TelemeterConfig[], metrics: RouterMetrics, logger: Logger): Promise<Exporters> {
  const sinks: MetricsSink[] = [];
  let tracer: Tracer | undefined;
  for (const config of configs) {
    if (config.kind === "io.l5d.statsd") {
      const { StatsdSink } = await import("./statsd.ts");
      sinks.push(new StatsdSink(config, metrics, logger));
    } else if (config.kind === "meshd.otlp") {
      const tracing = await import("./tracing.ts");
      tracer = new tracing.Tracer(config, metrics.spans, logger);
    }
  }
  return { sinks, tracer };
}

/** Sends what the exporters still hold, then stops them. */
export async function closeExporters(exporters: Exporters): Promise<void> {
  await Promise.allSettled([...exporters.sinks.map((s) => s.close()), exporters.tracer?.close()]);
}
