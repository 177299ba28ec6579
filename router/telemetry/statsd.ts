// Linkerd's io.l5d.statsd telemeter, over hot-shots: request counters and
// latencies as they happen (sampled), gauges on an interval. Datagrams are
// buffered and sent by hot-shots in the background, so the request path
// never waits on the agent; a lost or refused datagram is only counted.
import { StatsD } from "hot-shots";
import type { Logger } from "../../lib/log.ts";
import type { StatsdConfig } from "./config.ts";
import type { MetricsSink, RouterMetrics } from "./metrics.ts";

/** One name segment statsd can carry: dots and other separators become underscores. */
function segment(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "") || "_";
}

/** A path as dotted segments: /svc/web → svc.web, /#/io.l5d.fs/web → io_l5d_fs.web */
function pathName(path: string): string {
  return path
    .split("/")
    .filter((s) => s !== "" && s !== "#" && s !== "$")
    .map(segment)
    .join(".");
}

export class StatsdSink implements MetricsSink {
  readonly #client: StatsD;
  readonly #config: StatsdConfig;
  readonly #gauges: NodeJS.Timeout;
  /** Metric names per (router, service|client), built once. */
  readonly #names = new Map<string, string>();
  #errors = 0;

  constructor(config: StatsdConfig, metrics: RouterMetrics, logger: Logger) {
    this.#config = config;
    this.#client = new StatsD({
      host: config.hostname,
      port: config.port,
      prefix: config.prefix === "" ? "" : `${config.prefix}.`,
      protocol: "udp",
      // One datagram per ~1 KB or 1 s: fewer syscalls on the request path.
      maxBufferSize: 1024,
      bufferFlushInterval: 1000,
      includeDataDogTags: false,
      ...(config.dogstatsd ? { globalTags: config.tags } : {}),
      errorHandler: (err) => {
        // Reported once, then counted: a missing agent must not flood the log.
        if (this.#errors++ === 0) logger.warn({ err: err.message, agent: `${config.hostname}:${config.port}` }, "statsd: cannot send (further errors are not logged)");
      },
    });
    this.#gauges = setInterval(() => void this.#sendGauges(metrics), config.gaugeIntervalMs);
    this.#gauges.unref();
  }

  #name(kind: "service" | "client", rt: string, id: string, metric: string): string {
    const key = `${kind}\n${rt}\n${id}\n${metric}`;
    let name = this.#names.get(key);
    if (name === undefined) {
      name = this.#config.dogstatsd ? `rt.${kind}.${metric}` : `rt.${segment(rt)}.${kind}.${pathName(id)}.${metric}`;
      if (this.#names.size < 10_000) this.#names.set(key, name);
    }
    return name;
  }

  #tags(extra: Record<string, string>): Record<string, string> | undefined {
    return this.#config.dogstatsd ? extra : undefined;
  }

  requestDone(rt: string, service: string, _status: number, success: boolean, seconds: number, statusClass: string): void {
    const rate = this.#config.sampleRate;
    const tags = this.#tags({ rt, service, status_class: statusClass });
    this.#client.increment(this.#name("service", rt, service, "requests"), 1, rate, tags);
    this.#client.increment(this.#name("service", rt, service, success ? "success" : "failures"), 1, rate, tags);
    if (!this.#config.dogstatsd) this.#client.increment(this.#name("service", rt, service, `status.${statusClass}`), 1, rate);
    this.#client.timing(this.#name("service", rt, service, "request_latency_ms"), seconds * 1000, rate, tags);
  }

  retried(rt: string, service: string): void {
    this.#client.increment(this.#name("service", rt, service, "retries"), 1, this.#config.sampleRate, this.#tags({ rt, service }));
  }

  clientAttempt(rt: string, client: string, success: boolean): void {
    const tags = this.#tags({ rt, client });
    this.#client.increment(this.#name("client", rt, client, "requests"), 1, this.#config.sampleRate, tags);
    if (!success) this.#client.increment(this.#name("client", rt, client, "failures"), 1, this.#config.sampleRate, tags);
  }

  async #sendGauges(metrics: RouterMetrics): Promise<void> {
    for (const g of await metrics.gaugeValues()) {
      const kind = g.labels["client"] !== undefined ? "client" : "server";
      const id = g.labels[kind] ?? "";
      const rt = g.labels["rt"] ?? "";
      const metric = g.name.replace(/^rt_(client|server)_/, "").replace(/_/g, ".");
      const name = this.#config.dogstatsd ? `rt.${kind}.${metric}` : `rt.${segment(rt)}.${kind}.${kind === "client" ? pathName(id) : segment(id)}.${metric}`;
      this.#client.gauge(name, g.value, this.#tags({ rt, [kind]: id }));
    }
  }

  close(): Promise<void> {
    clearInterval(this.#gauges);
    return new Promise((resolve) => this.#client.close(() => resolve()));
  }
}
