// The router's `telemetry` block (Linkerd's telemeters) and its access log.
// Prometheus is always served on the admin port; statsd and OTLP tracing
// are opt-in exporters that never hold up a request.
import { z } from "zod";
import { positiveInt, port, withKindAliases } from "../../lib/schema.ts";

const sampleRate = z.number().min(0).max(1);

const prometheus = z.strictObject({
  kind: z.literal("io.l5d.prometheus"),
  /** Accepted for Linkerd compatibility; meshd serves /metrics and /admin/metrics/prometheus. */
  path: z.string().optional(),
  prefix: z.string().optional(),
});

const statsd = z.strictObject({
  kind: z.literal("io.l5d.statsd"),
  /** Where the statsd (or DogStatsD) agent listens (UDP). */
  hostname: z.string().min(1).default("127.0.0.1"),
  port: port.default(8125),
  /** Prepended to every metric name, joined with a dot. */
  prefix: z.string().default("linkerd"),
  /** Share of request counters and timings sent (Linkerd's default: 0.01). */
  sampleRate: sampleRate.default(0.01),
  /** How often gauges (load-balancer sizes, in-flight requests) are sent (ms). */
  gaugeIntervalMs: positiveInt.default(10_000),
  /** DogStatsD tags (rt, service, client, status_class) instead of names that carry them. */
  dogstatsd: z.boolean().default(false),
  /** Extra DogStatsD tags on every metric (with dogstatsd: true). */
  tags: z.record(z.string(), z.string()).default({}),
});

const otlp = z.strictObject({
  kind: z.literal("meshd.otlp"),
  /** The collector's OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces */
  endpoint: z.url({ protocol: /^https?$/ }),
  /** Extra request headers for the collector (authorization, tenant); never logged. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Share of new traces sampled (requests arriving with a sampling decision keep it). */
  sampleRate: sampleRate.default(1),
  /** The `service.name` resource attribute. */
  serviceName: z.string().min(1).default("meshd"),
  /** Spans per export request. */
  batchSize: positiveInt.default(512),
  /** Spans waiting for export; past it new spans are dropped (and counted). */
  maxQueueSize: positiveInt.default(2048),
  /** A partial batch is sent after this long (ms). */
  flushIntervalMs: positiveInt.default(1000),
  /** One export request's time limit (ms). */
  timeoutMs: positiveInt.default(5000),
});

/** Linkerd's table of recent requests on its admin page: accepted; it changes nothing on the data path. */
const recentRequests = z.strictObject({
  kind: z.literal("io.l5d.recentRequests"),
  /** Share of requests Linkerd records (0–1; Linkerd requires it). */
  sampleRate,
  /** Rows Linkerd keeps. */
  capacity: positiveInt.optional(),
});

const useOtlp = "meshd exports traces with meshd.otlp, which an OpenTelemetry Collector can pass on to Zipkin";

export const telemeterSchema = withKindAliases({}, z.discriminatedUnion("kind", [prometheus, statsd, otlp, recentRequests]), {
  "io.l5d.zipkin": `Zipkin over Scribe is not implemented; ${useOtlp}`,
  "io.zipkin.http": `a third-party Zipkin plugin; ${useOtlp}`,
  "io.l5d.tracelog": `trace annotations in the log are not implemented; ${useOtlp}`,
  "io.l5d.influxdb": "the InfluxDB endpoint is not implemented; scrape the Prometheus /metrics instead",
  "io.l5d.commonMetrics": "removed in Linkerd 0.9.0; meshd always serves /admin/metrics.json",
});

export type TelemeterConfig = z.output<typeof telemeterSchema>;
export type StatsdConfig = z.output<typeof statsd>;
export type OtlpConfig = z.output<typeof otlp>;

/** One JSON line per request (method, host, path, service, client, status, duration, reqid). */
export const accessLogSchema = z.strictObject({
  /** A file to append to; without it, lines go to stdout with the other logs. */
  path: z.string().min(1).optional(),
});

export type AccessLogConfig = z.output<typeof accessLogSchema>;
