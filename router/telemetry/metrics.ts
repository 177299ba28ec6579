// The router's request statistics, kept once and shown two ways: Prometheus
// (/metrics, labels rt, service, client, server, status_class) and
// Linkerd's flat metrics.json names (rt/<router>/service/<svc>/requests …).
// Each service and client holds its own cells (plain numbers that
// prom-client reads when scraped), so the request path only bumps fields;
// the number of distinct services and clients shown is capped, the rest
// counted together as "other".
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { collectProcessMetrics } from "../../lib/process-metrics.ts";

/** Latency buckets (seconds): sub-millisecond to 10 s, for p50/p99 estimates. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Distinct services (and clients) per router with their own series; more are folded into "other". */
export const MAX_SERIES = 500;

export type StatusClass = "1XX" | "2XX" | "3XX" | "4XX" | "5XX";

const STATUS_CLASSES: readonly StatusClass[] = ["1XX", "2XX", "3XX", "4XX", "5XX"];

/** 0 for 1XX … 4 for 5XX. */
function statusIndex(status: number): number {
  return status >= 500 ? 4 : status >= 400 ? 3 : status >= 300 ? 2 : status >= 200 ? 1 : 0;
}

export function statusClass(status: number): StatusClass {
  return STATUS_CLASSES[statusIndex(status)] as StatusClass;
}

/** What the request path records for one logical name. */
export interface ServiceStats {
  /** A request finished: its final status, whether the classifier called it a success, how long it took (s). */
  done(status: number, success: boolean, seconds: number, server: string): void;
  retried(): void;
}

/** What the request path records for one client (bound name). */
export interface ClientStats {
  attempt(success: boolean): void;
}

/** Another place request statistics go (statsd): called on the request path, so it must not block. */
export interface MetricsSink {
  requestDone(rt: string, service: string, status: number, success: boolean, seconds: number, statusClass: StatusClass): void;
  retried(rt: string, service: string): void;
  clientAttempt(rt: string, client: string, success: boolean): void;
  close(): Promise<void>;
}

/** A gauge's current value with its labels (for exporters that push gauges). */
export interface GaugeValue {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Counters kept as plain numbers per label set, so the request path only
 * bumps a field; prom-client reads them when scraped (through the metric's
 * collect hook), which costs a pass over the series then, not a label hash
 * on every request.
 */
class CounterCells<L extends string> {
  readonly #series = new SeriesCells((labels: Readonly<Record<L, string>>) => ({ labels, value: 0 }));

  constructor(registry: Registry, config: { name: string; help: string; labelNames: readonly L[] }) {
    const series = this.#series;
    new Counter<L>({
      ...config,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of series.all()) this.inc(s.labels, s.value);
      },
    });
  }

  /** The cell for one label set (created at zero, shown from then on). */
  cell(labels: Readonly<Record<L, string>>): { value: number } {
    return this.#series.get(labels);
  }
}

/**
 * One cell per distinct label set: names folded together (into "other")
 * share theirs, so no series is ever shown twice.
 */
class SeriesCells<Labels extends Readonly<Record<string, string>>, Cell> {
  readonly #cells = new Map<string, Cell>();
  readonly #make: (labels: Labels) => Cell;

  constructor(make: (labels: Labels) => Cell) {
    this.#make = make;
  }

  get(labels: Labels): Cell {
    const key = Object.values(labels).join("\u0000");
    let cell = this.#cells.get(key);
    if (cell === undefined) this.#cells.set(key, (cell = this.#make(labels)));
    return cell;
  }

  all(): IterableIterator<Cell> {
    return this.#cells.values();
  }
}

/** One histogram series: counts per bucket (not cumulative), sum and count. */
interface HistogramCell {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

function observe(cell: HistogramCell, value: number): void {
  let i = 0;
  while (i < LATENCY_BUCKETS.length && value > (LATENCY_BUCKETS[i] as number)) i++;
  (cell.counts[i] as number)++;
  cell.sum += value;
  cell.count++;
}

/** A prom-client histogram shown from HistogramCells (same exposition as prom-client's own). */
class CellHistogram extends Histogram<"rt" | "service"> {
  readonly #cells = new SeriesCells((labels: Readonly<Record<"rt" | "service", string>>): HistogramCell => ({ labels, counts: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0, count: 0 }));
  readonly #name: string;
  readonly #help: string;

  constructor(registry: Registry, name: string, help: string) {
    super({ name, help, labelNames: ["rt", "service"], buckets: LATENCY_BUCKETS, registers: [registry] });
    this.#name = name;
    this.#help = help;
  }

  cell(labels: Readonly<Record<"rt" | "service", string>>): HistogramCell {
    return this.#cells.get(labels);
  }

  override async get(): ReturnType<Histogram<"rt" | "service">["get"]> {
    return this.getForPromString();
  }

  /** What prom-client's registry reads for the text exposition (prom-client's histogram defines it too). */
  async getForPromString(): ReturnType<Histogram<"rt" | "service">["get"]> {
    // Bucket values carry `le` beside the metric's own labels, as prom-client's histogram does.
    const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
    for (const cell of this.#cells.all()) {
      let cumulative = 0;
      for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
        cumulative += cell.counts[i] as number;
        values.push({ value: cumulative, labels: { ...cell.labels, le: i < LATENCY_BUCKETS.length ? (LATENCY_BUCKETS[i] as number) : "+Inf" }, metricName: `${this.#name}_bucket` });
      }
      values.push({ value: cell.sum, labels: { ...cell.labels }, metricName: `${this.#name}_sum` });
      values.push({ value: cell.count, labels: { ...cell.labels }, metricName: `${this.#name}_count` });
    }
    // The shape prom-client's histogram returns (its typings call `type` an enum; the runtime value is this string).
    const shown = { name: this.#name, help: this.#help, type: "histogram", values, aggregator: "sum" };
    return shown as unknown as Awaited<ReturnType<Histogram<"rt" | "service">["get"]>>;
  }
}

export class RouterMetrics {
  readonly registry = new Registry();
  readonly #requests: CounterCells<"rt" | "service" | "server" | "status_class">;
  readonly #success: CounterCells<"rt" | "service">;
  readonly #failures: CounterCells<"rt" | "service">;
  readonly #retries: CounterCells<"rt" | "service">;
  readonly #latency: CellHistogram;
  readonly #clientRequests: CounterCells<"rt" | "client" | "result">;
  /** Spans handed to the OTLP exporter, by result (exported, dropped, failed). */
  readonly spans: Counter<"result">;
  readonly #services = new Map<string, ServiceStats>();
  readonly #clients = new Map<string, ClientStats>();
  readonly #gaugeNames: string[] = [];
  /** Exporters fed as requests finish; replaced on reload. */
  #sinks: readonly MetricsSink[] = [];

  constructor() {
    collectProcessMetrics(this.registry);
    const registry = this.registry;
    this.#requests = new CounterCells(registry, { name: "rt_requests_total", help: "Requests finished, by router, service, server and status class", labelNames: ["rt", "service", "server", "status_class"] });
    this.#success = new CounterCells(registry, { name: "rt_service_success_total", help: "Requests the response classifier called a success", labelNames: ["rt", "service"] });
    this.#failures = new CounterCells(registry, { name: "rt_service_failures_total", help: "Requests the response classifier called a failure (router errors included)", labelNames: ["rt", "service"] });
    this.#retries = new CounterCells(registry, { name: "rt_service_retries_total", help: "Retries and requeues, by service", labelNames: ["rt", "service"] });
    this.#latency = new CellHistogram(registry, "rt_request_duration_seconds", "Request latency, first byte in to response head out, all retries included");
    this.spans = new Counter({ name: "rt_trace_spans_total", help: "Spans for the OTLP collector by result: exported, dropped (queue full), failed (export error)", labelNames: ["result"], registers: [registry] });
    this.#clientRequests = new CounterCells(registry, { name: "rt_client_requests_total", help: "Attempts sent to a client's endpoints, by result", labelNames: ["rt", "client", "result"] });
  }

  /** Registers a gauge whose value is read when metrics are collected (load balancer sizes, in-flight counts). */
  gauge(name: string, help: string, labelNames: readonly string[], collect: (set: (labels: Record<string, string>, value: number) => void) => void): void {
    this.#gaugeNames.push(name);
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        collect((labels, value) => this.set(labels, value));
      },
    });
  }

  /** Replaces the exporters; the old ones are returned for closing. */
  setSinks(sinks: readonly MetricsSink[]): readonly MetricsSink[] {
    const old = this.#sinks;
    this.#sinks = sinks;
    return old;
  }

  /** The router's own gauges (load-balancer sizes, in-flight counts) as they are now. */
  async gaugeValues(): Promise<GaugeValue[]> {
    const out: GaugeValue[] = [];
    for (const name of this.#gaugeNames) {
      const metric = this.registry.getSingleMetric(name);
      if (metric === undefined) continue;
      const { values } = await metric.get();
      for (const v of values) out.push({ name, labels: Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)])), value: v.value });
    }
    return out;
  }

  service(rt: string, service: string): ServiceStats {
    return cappedEntry(this.#services, rt, service, (shown) => this.#newService(rt, shown));
  }

  #newService(rt: string, shown: string): ServiceStats {
    // Per server, one cell per status class (1XX … 5XX).
    const byServer = new Map<string, { value: number }[]>();
    const success = this.#success.cell({ rt, service: shown });
    const failures = this.#failures.cell({ rt, service: shown });
    const retries = this.#retries.cell({ rt, service: shown });
    const latency = this.#latency.cell({ rt, service: shown });
    const requests = this.#requests;
    const sinks = (): readonly MetricsSink[] => this.#sinks;
    return {
      done(status, ok, seconds, server) {
        const index = statusIndex(status);
        const cls = STATUS_CLASSES[index] as StatusClass;
        let cells = byServer.get(server);
        if (cells === undefined) byServer.set(server, (cells = []));
        (cells[index] ??= requests.cell({ rt, service: shown, server, status_class: cls })).value++;
        if (ok) success.value++;
        else failures.value++;
        observe(latency, seconds);
        for (const sink of sinks()) sink.requestDone(rt, shown, status, ok, seconds, cls);
      },
      retried() {
        retries.value++;
        for (const sink of sinks()) sink.retried(rt, shown);
      },
    };
  }

  client(rt: string, client: string): ClientStats {
    return cappedEntry(this.#clients, rt, client, (shown) => this.#newClient(rt, shown));
  }

  #newClient(rt: string, shown: string): ClientStats {
    const ok = this.#clientRequests.cell({ rt, client: shown, result: "success" });
    const failed = this.#clientRequests.cell({ rt, client: shown, result: "failure" });
    const sinks = (): readonly MetricsSink[] => this.#sinks;
    return {
      attempt(success) {
        (success ? ok : failed).value++;
        for (const sink of sinks()) sink.clientAttempt(rt, shown, success);
      },
    };
  }
}

/**
 * The stats kept for one name of a router: its own while fewer than
 * MAX_SERIES are kept, past that one entry every new name shares, shown as
 * "other" (so a flood of one-off names cannot grow the map).
 */
function cappedEntry<T>(entries: Map<string, T>, rt: string, name: string, make: (shown: string) => T): T {
  const own = entries.get(`${rt}\n${name}`);
  if (own !== undefined) return own;
  const full = entries.size >= MAX_SERIES;
  const key = full ? `${rt}\n` : `${rt}\n${name}`;
  let entry = entries.get(key);
  if (entry === undefined) entries.set(key, (entry = make(full ? "other" : name)));
  return entry;
}

/** A histogram's quantile from its cumulative buckets, interpolated within the bucket (ms). */
function quantileMs(buckets: readonly { le: number; count: number }[], total: number, q: number): number {
  if (total === 0) return 0;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const { le, count } of buckets) {
    if (count >= rank) {
      const upper = Number.isFinite(le) ? le : prevLe;
      const within = count === prevCount ? 0 : (rank - prevCount) / (count - prevCount);
      return (prevLe + (upper - prevLe) * within) * 1000;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe * 1000;
}

/** Linkerd's names for the router's gauges (the part after rt/<router>/client|server/<id>/). */
const LINKERD_GAUGE_NAMES: Readonly<Record<string, string>> = {
  rt_client_loadbalancer_size: "loadbalancer/size",
  rt_client_loadbalancer_available: "loadbalancer/available",
  rt_client_failure_accrual_removals: "failure_accrual/removals",
  rt_client_pending: "pending",
  rt_server_in_flight: "in_flight",
};

type MetricJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>[number];

/**
 * Linkerd 1's flat names: rt/<router>/service/<svc>/requests, …/success,
 * …/failures, …/retries/total, …/latency_ms.p50 (and p90, p99, max-ish),
 * rt/<router>/server/<ip:port>/requests, rt/<router>/client/<id>/requests …
 * `filter` keeps names containing it (Linkerd's ?q=).
 */
export async function linkerdMetrics(metrics: RouterMetrics, filter?: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const add = (name: string, value: number): void => {
    out[name] = (out[name] ?? 0) + value;
  };
  const all: MetricJson[] = await metrics.registry.getMetricsAsJSON();
  for (const m of all) {
    const values = (m as { values: { value: number; labels: Record<string, string | number>; metricName?: string }[] }).values;
    switch (m.name) {
      case "rt_requests_total":
        for (const v of values) {
          add(`rt/${v.labels["rt"]}/service/${v.labels["service"]}/requests`, v.value);
          add(`rt/${v.labels["rt"]}/service/${v.labels["service"]}/status/${v.labels["status_class"]}`, v.value);
          add(`rt/${v.labels["rt"]}/server/${v.labels["server"]}/requests`, v.value);
        }
        break;
      case "rt_service_success_total":
        for (const v of values) add(`rt/${v.labels["rt"]}/service/${v.labels["service"]}/success`, v.value);
        break;
      case "rt_service_failures_total":
        for (const v of values) add(`rt/${v.labels["rt"]}/service/${v.labels["service"]}/failures`, v.value);
        break;
      case "rt_service_retries_total":
        for (const v of values) add(`rt/${v.labels["rt"]}/service/${v.labels["service"]}/retries/total`, v.value);
        break;
      case "rt_client_requests_total":
        for (const v of values) {
          add(`rt/${v.labels["rt"]}/client/${v.labels["client"]}/requests`, v.value);
          add(`rt/${v.labels["rt"]}/client/${v.labels["client"]}/${v.labels["result"] === "success" ? "success" : "failures"}`, v.value);
        }
        break;
      case "rt_request_duration_seconds": {
        const series = new Map<string, { buckets: { le: number; count: number }[]; count: number }>();
        for (const v of values) {
          const key = `rt/${v.labels["rt"]}/service/${v.labels["service"]}/latency_ms`;
          const s = series.get(key) ?? { buckets: [], count: 0 };
          series.set(key, s);
          if (v.metricName?.endsWith("_bucket") === true) s.buckets.push({ le: v.labels["le"] === "+Inf" ? Infinity : Number(v.labels["le"]), count: v.value });
          else if (v.metricName?.endsWith("_count") === true) s.count = v.value;
        }
        for (const [key, s] of series) {
          s.buckets.sort((a, b) => a.le - b.le);
          add(`${key}.count`, s.count);
          for (const [label, q] of [["p50", 0.5], ["p90", 0.9], ["p95", 0.95], ["p99", 0.99], ["p9990", 0.999]] as const) add(`${key}.${label}`, Number(quantileMs(s.buckets, s.count, q).toFixed(3)));
        }
        break;
      }
      default:
        if (m.name.startsWith("rt_client_") || m.name.startsWith("rt_server_")) {
          // Gauges registered by the router: rt_client_loadbalancer_size{rt,client} → rt/<rt>/client/<client>/loadbalancer/size
          const suffix = LINKERD_GAUGE_NAMES[m.name] ?? m.name.replace(/^rt_(client|server)_/, "");
          const kind = m.name.startsWith("rt_client_") ? "client" : "server";
          for (const v of values) add(`rt/${v.labels["rt"]}/${kind}/${v.labels[kind]}/${suffix}`, v.value);
        }
    }
  }
  if (filter === undefined || filter === "") return out;
  return Object.fromEntries(Object.entries(out).filter(([k]) => k.includes(filter)));
}
