// Client side of the resilience tests and the balancer benchmark: one HTTP
// request with its timing, and an open-loop load (slow_cooker / wrk2 style:
// request k is due at k / rate whatever happened to earlier ones, and its
// latency counts from when it was due, so a stalled target cannot hide its
// stall by slowing the client down).
import { Agent, request, type OutgoingHttpHeaders } from "node:http";

export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** Send to end of response (ms). */
  readonly ms: number;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  /** A body sent with Content-Length, or as chunks (Transfer-Encoding: chunked) when an array. */
  readonly body?: string | readonly string[];
  readonly agent?: Agent | false;
  /** Give up after this long (ms): the promise rejects. */
  readonly timeoutMs?: number;
}

/** Sends one request; resolves with the whole response. */
export function send(url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const body = options.body;
    const headers: OutgoingHttpHeaders = { ...options.headers };
    if (typeof body === "string") headers["content-length"] = Buffer.byteLength(body);
    const req = request(url, { method: options.method ?? "GET", headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: performance.now() - started }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (options.timeoutMs !== undefined) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else req.end(body);
  });
}

/** One request of an open-loop run. */
export interface Sample {
  /** Sequence number (also sent as `x-test-id`). */
  readonly seq: number;
  /** When it was due (ms, performance clock). */
  readonly due: number;
  /** When it was sent (epoch ms), for bucketing by wall-clock second. */
  readonly sentAt: number;
  /** How late the client sent it (ms after it was due): the generator's own accuracy. */
  readonly lag: number;
  /** Due to end (ms); undefined when it failed without a response. */
  latency: number | undefined;
  /** The status, or 0 when there was no response (connection error, client timeout). */
  status: number;
  error: string | undefined;
  /** The response's `l5d-err-code`, if any. */
  errCode: string | undefined;
  /** The response's `x-backend` (the fake backend's port), if any. */
  backend: string | undefined;
}

export interface OpenLoopOptions {
  /** One URL, or one per request (round-robin by sequence: the no-router reference). */
  readonly url: string | ((seq: number) => string);
  readonly ratePerSec: number;
  readonly durationMs: number;
  readonly headers?: OutgoingHttpHeaders;
  /** A request with no complete response this long after it was due is aborted and counts as failed. */
  readonly timeoutMs?: number;
  /** Called at every scheduling tick with the time since the start (ms), for faults timed into the run. */
  readonly onTick?: (elapsedMs: number) => void;
}

/**
 * Sends `ratePerSec` requests a second for `durationMs` on keep-alive
 * connections (as many as needed: nothing queues in the client), and resolves
 * once every request has finished.
 */
export async function openLoop(options: OpenLoopOptions): Promise<Sample[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, keepAliveMsecs: 1000 });
  const samples: Sample[] = [];
  const pending = new Set<Promise<void>>();
  const interval = 1000 / options.ratePerSec;
  const total = Math.round((options.durationMs / 1000) * options.ratePerSec);
  const urlFor = typeof options.url === "string" ? () => options.url as string : options.url;
  const start = performance.now();
  let next = 0;
  const fire = (seq: number): void => {
    const due = start + seq * interval;
    const sample: Sample = { seq, due, sentAt: Date.now(), lag: performance.now() - due, latency: undefined, status: 0, error: undefined, errCode: undefined, backend: undefined };
    samples.push(sample);
    const done = new Promise<void>((resolve) => {
      const req = request(urlFor(seq), { agent, headers: { ...options.headers, "x-test-id": String(seq) } }, (res) => {
        res.on("data", () => undefined);
        res.on("end", () => {
          sample.status = res.statusCode ?? 0;
          sample.latency = performance.now() - due;
          const code = res.headers["l5d-err-code"];
          sample.errCode = typeof code === "string" ? code : undefined;
          const backend = res.headers["x-backend"];
          sample.backend = typeof backend === "string" ? backend : undefined;
          resolve();
        });
        res.on("error", (e) => {
          sample.error = e.message;
          resolve();
        });
      });
      req.on("error", (e) => {
        sample.error ??= e.message;
        resolve();
      });
      if (options.timeoutMs !== undefined) {
        const left = Math.max(1, due + options.timeoutMs - performance.now());
        const timer = setTimeout(() => {
          sample.error = `no complete response within ${options.timeoutMs} ms of its due time`;
          sample.status = 0;
          req.destroy();
          resolve();
        }, left);
        req.on("close", () => clearTimeout(timer));
      }
      req.end();
    });
    pending.add(done);
    void done.then(() => pending.delete(done));
  };
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      options.onTick?.(now - start);
      while (next < total && start + next * interval <= now) fire(next++);
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, Math.min(5, start + next * interval - performance.now())));
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();
  return samples;
}

/** The value at percentile `p` (0–100) of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Counts per epoch second. */
export function perSecond(times: Iterable<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of times) {
    const s = Math.floor(t / 1000);
    out.set(s, (out.get(s) ?? 0) + 1);
  }
  return out;
}
