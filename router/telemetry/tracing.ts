// Spans for router hops, exported over OTLP/HTTP with the JSON encoding.
// Finished spans wait in a bounded queue and leave in batches (by size or
// by time), one export request at a time; a full queue drops new spans and
// a failed export drops its batch — both counted, never retried into an
// ever-growing backlog, never waited on by a request.
import type { IncomingHttpHeaders } from "node:http";
import type { Counter } from "prom-client";
import type { Logger } from "../../lib/log.ts";
import type { OtlpConfig } from "./config.ts";
import { newSpanId, newTraceContext, readTraceContext, traceHeaders } from "./trace-context.ts";

/** OTLP's SpanKind.SERVER: the router received the request (and sent it on). */
const SPAN_KIND_SERVER = 2;
const STATUS_ERROR = 2;

type AttributeValue = { stringValue: string } | { intValue: string } | { boolValue: boolean };

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: AttributeValue }[];
  status: { code: number; message?: string };
}

/** Wall-clock nanoseconds with sub-millisecond precision. */
function nowNanos(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** What a request learns when it finishes, for its span. */
export interface SpanEnd {
  readonly status: number;
  readonly success: boolean;
  readonly client?: string | undefined;
  readonly retries: number;
  readonly error?: string | undefined;
}

/** One hop's span: the headers to send on, and `end` when the response is decided. */
export interface HopSpan {
  readonly headers: readonly string[];
  readonly traceId: string;
  end(result: SpanEnd): void;
}

export interface HopInfo {
  readonly router: string;
  readonly method: string;
  readonly host: string;
  readonly path: string;
  readonly service: string;
}

export class Tracer {
  readonly #config: OtlpConfig;
  readonly #exporter: OtlpExporter;
  readonly #random: () => number;

  constructor(config: OtlpConfig, counter: Counter<"result">, logger: Logger, random: () => number = Math.random) {
    this.#config = config;
    this.#exporter = new OtlpExporter(config, counter, logger);
    this.#random = random;
  }

  /** Starts this hop's span under the caller's context (or a new trace), sampled as the caller decided. */
  start(requestHeaders: IncomingHttpHeaders, info: HopInfo): HopSpan {
    const context = readTraceContext(requestHeaders) ?? newTraceContext();
    const sampled = context.sampled ?? this.#random() < this.#config.sampleRate;
    const spanId = newSpanId();
    const start = nowNanos();
    const exporter = this.#exporter;
    return {
      headers: traceHeaders(context, spanId, sampled),
      traceId: context.traceId,
      end(result) {
        if (!sampled) return;
        const attributes: OtlpSpan["attributes"] = [
          { key: "http.request.method", value: { stringValue: info.method } },
          { key: "server.address", value: { stringValue: info.host } },
          // The path without its query, which may hold credentials.
          { key: "url.path", value: { stringValue: info.path.split("?", 1)[0] ?? "" } },
          { key: "http.response.status_code", value: { intValue: String(result.status) } },
          { key: "meshd.router", value: { stringValue: info.router } },
          { key: "meshd.service", value: { stringValue: info.service } },
          { key: "meshd.retries", value: { intValue: String(result.retries) } },
        ];
        if (result.client !== undefined) attributes.push({ key: "meshd.client", value: { stringValue: result.client } });
        exporter.add({
          traceId: context.traceId,
          spanId,
          ...(context.parentSpanId === undefined ? {} : { parentSpanId: context.parentSpanId }),
          name: `${info.method} ${info.service}`,
          kind: SPAN_KIND_SERVER,
          startTimeUnixNano: start.toString(),
          endTimeUnixNano: nowNanos().toString(),
          attributes,
          status: result.success ? { code: 0 } : { code: STATUS_ERROR, ...(result.error === undefined ? {} : { message: result.error }) },
        });
      },
    };
  }

  close(): Promise<void> {
    return this.#exporter.close();
  }
}

class OtlpExporter {
  readonly #config: OtlpConfig;
  readonly #counter: Counter<"result">;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  #queue: OtlpSpan[] = [];
  #sending: Promise<void> | undefined;
  #failures = 0;
  #closed = false;

  constructor(config: OtlpConfig, counter: Counter<"result">, logger: Logger) {
    this.#config = config;
    this.#counter = counter;
    this.#logger = logger;
    this.#timer = setInterval(() => this.#flush(), config.flushIntervalMs);
    this.#timer.unref();
  }

  add(span: OtlpSpan): void {
    if (this.#closed || this.#queue.length >= this.#config.maxQueueSize) {
      this.#counter.inc({ result: "dropped" });
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= this.#config.batchSize) setImmediate(() => this.#flush());
  }

  /** Sends one batch unless one is already on its way. */
  #flush(): void {
    if (this.#sending !== undefined || this.#queue.length === 0) return;
    const batch = this.#queue.slice(0, this.#config.batchSize);
    this.#queue = this.#queue.slice(batch.length);
    this.#sending = this.#send(batch).finally(() => {
      this.#sending = undefined;
      if (this.#queue.length >= this.#config.batchSize) this.#flush();
    });
  }

  async #send(batch: OtlpSpan[]): Promise<void> {
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: this.#config.serviceName } }] },
          scopeSpans: [{ scope: { name: "meshd" }, spans: batch }],
        },
      ],
    });
    try {
      const res = await fetch(this.#config.endpoint, {
        method: "POST",
        headers: { ...this.#config.headers, "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(this.#config.timeoutMs),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`the collector answered ${res.status}`);
      this.#counter.inc({ result: "exported" }, batch.length);
      this.#failures = 0;
    } catch (e) {
      this.#counter.inc({ result: "failed" }, batch.length);
      // The first failure of a run is logged; the rest only counted. The headers (credentials) never are.
      if (this.#failures++ === 0) this.#logger.warn({ endpoint: this.#config.endpoint, err: (e as Error).message, spans: batch.length }, "tracing: span export failed");
    }
  }

  /** Sends what is queued (within one export timeout) and stops. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    const deadline = Date.now() + this.#config.timeoutMs;
    while ((this.#queue.length > 0 || this.#sending !== undefined) && Date.now() < deadline) {
      this.#flush();
      await this.#sending;
    }
    this.#closed = true;
  }
}

