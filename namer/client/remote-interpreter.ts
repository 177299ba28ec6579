// The router's namer client, Linkerd's `io.l5d.namerd.http` interpreter: a
// live binding per (path, local dtab), learned from the namer's bind watch
// stream (one stream per key — the namer re-sends the tree whenever the dtab
// or an address set in it changes). The last good binding is kept while the
// namer is unreachable or talks nonsense, remembered across idle eviction and,
// with a state directory, across restarts (DESIGN §2 step 3, §5).
import type { Agent as HttpAgent } from "node:http";
import { Dtab, type Path } from "../../dtab/index.ts";
import { silentLogger, type Logger } from "../../lib/log.ts";
import { forScheme } from "../../lib/node-http.ts";
import { Cell } from "../namers/watchable.ts";
import { IdleCache } from "../interpreter/idle-cache.ts";
import { bindingKey, leased, type Binding, type LiveValue } from "../interpreter/interpreter.ts";
import { BindDocumentError, parseBindDocument } from "../wire/bind-json.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./backoff.ts";
import { NdjsonWatch, type WatchStatus } from "./ndjson-watch.ts";
import { BindingSnapshot, bindingCacheKey, snapshotFile } from "./snapshot.ts";

/** What the router needs of any interpreter, local or remote. */
export interface BindingInterpreter {
  /** The live binding of `path` with `local` appended to the dtab. Close it when done. */
  bind(path: Path, local?: Dtab): LiveValue<Binding>;
  close(): void | Promise<void>;
}

export interface RemoteInterpreterOptions {
  /** The namer's API, e.g. http://127.0.0.1:4180 (http or https). */
  readonly baseUrl: string | URL;
  /** The namespace whose dtab binds (default "default"). */
  readonly namespace?: string;
  /** Reconnect backoff (ms): default base 1 s, max 600 s (Linkerd's `retry.baseSeconds`/`maxSeconds` × 1000). */
  readonly retry?: Partial<RetryPolicy>;
  /** Where the last good bindings are persisted; without it they live in memory only. */
  readonly stateDir?: string;
  /** How long a binding nobody holds keeps its stream open (ms; default 600 000, Linkerd's bindingCache idleTtlSecs). */
  readonly idleMs?: number;
  readonly logger?: Logger;
  /** Connecting and getting the response head (ms; default 5 000). */
  readonly connectTimeoutMs?: number;
  /**
   * A stream silent for this long is dead and reopened (ms; default 75 000).
   * Must exceed the namer's `watchKeepAliveMs` (default 30 000).
   */
  readonly keepAliveTimeoutMs?: number;
  /** Changes to the snapshot within this window are written together (ms; default 1 000). */
  readonly snapshotDebounceMs?: number;
  /** Bindings the snapshot remembers, least recently used dropped first (default 10 000). */
  readonly maxSnapshotBindings?: number;
  /** Longest bind document accepted (bytes; default 8 MiB). */
  readonly maxDocumentBytes?: number;
  /** The random source of the backoff jitter (tests). */
  readonly random?: () => number;
}

/** One live binding as the admin page shows it. */
export interface RemoteBindingInfo extends WatchStatus {
  readonly path: string;
  readonly dtab: string;
  /** Where the current value came from: nothing yet, the snapshot (or an earlier stream), or this stream. */
  readonly source: "none" | "snapshot" | "namer";
  readonly binding: Binding["type"];
}

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PENDING: Binding = { type: "pending" };

export class RemoteNameInterpreter implements BindingInterpreter {
  readonly #namespace: string;
  readonly #baseUrl: URL;
  readonly #retry: RetryPolicy;
  readonly #logger: Logger;
  readonly #random: () => number;
  readonly #agent: HttpAgent;
  readonly #connectTimeoutMs: number;
  readonly #keepAliveTimeoutMs: number;
  readonly #maxDocumentBytes: number;
  readonly #snapshot: BindingSnapshot;
  readonly #bindings: IdleCache<RemoteBinding>;
  /** The bindings in the cache, readable without taking a lease (which would restart their idle clock). */
  readonly #live = new Set<RemoteBinding>();
  #closed = false;

  constructor(options: RemoteInterpreterOptions) {
    this.#namespace = options.namespace ?? "default";
    if (!NAMESPACE.test(this.#namespace)) throw new RangeError(`invalid namespace ${JSON.stringify(this.#namespace)}: 1–128 letters, digits, '.', '_' or '-'`);
    const base = new URL(String(options.baseUrl));
    if (base.protocol !== "http:" && base.protocol !== "https:") throw new RangeError(`the namer URL must be http or https: ${base.href}`);
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    this.#baseUrl = base;
    this.#retry = { baseMs: options.retry?.baseMs ?? DEFAULT_RETRY.baseMs, maxMs: options.retry?.maxMs ?? DEFAULT_RETRY.maxMs };
    if (!(this.#retry.baseMs > 0) || !(this.#retry.maxMs >= this.#retry.baseMs)) {
      throw new RangeError(`retry needs 0 < baseMs ≤ maxMs (got ${this.#retry.baseMs}, ${this.#retry.maxMs})`);
    }
    this.#logger = (options.logger ?? silentLogger).child({ interpreter: "io.l5d.namerd.http", namespace: this.#namespace });
    this.#random = options.random ?? Math.random;
    // A pool of its own: watch streams hold their sockets for hours and must not starve (or be starved by) other HTTP clients.
    const agentOptions = { keepAlive: true, keepAliveMsecs: 15_000 };
    this.#agent = new (forScheme(base.protocol).Agent)(agentOptions);
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.#keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 75_000;
    this.#maxDocumentBytes = options.maxDocumentBytes ?? 8 * 1024 * 1024;
    this.#snapshot = new BindingSnapshot({
      namespace: this.#namespace,
      logger: this.#logger,
      file: options.stateDir === undefined ? undefined : snapshotFile(options.stateDir, this.#namespace),
      debounceMs: options.snapshotDebounceMs ?? 1_000,
      maxEntries: options.maxSnapshotBindings ?? 10_000,
    });
    this.#bindings = new IdleCache({
      idleMs: options.idleMs ?? 600_000,
      dispose: (b) => {
        this.#live.delete(b);
        b.dispose();
      },
    });
  }

  get namespace(): string {
    return this.#namespace;
  }

  /** Bindings held (with a stream open) and remembered in the snapshot. */
  get cached(): { bindings: number; activeBindings: number; snapshot: number; snapshotWrites: number } {
    return { bindings: this.#bindings.size, activeBindings: this.#bindings.active, snapshot: this.#snapshot.size, snapshotWrites: this.#snapshot.writes };
  }

  /**
   * The live binding of `path` through the namespace's dtab ++ `local`. It
   * starts as the last good value known (snapshot) or pending, and follows the
   * namer from then on. Shared by every caller of the same key; close it when done.
   */
  bind(path: Path, local: Dtab = Dtab.empty): LiveValue<Binding> {
    if (this.#closed) throw new Error("the remote name interpreter is closed");
    const key = bindingCacheKey(path, local);
    const lease = this.#bindings.acquire(key, () => {
      const b = new RemoteBinding(this.#context(), path, local, this.#snapshot.get(key));
      this.#live.add(b);
      return b;
    });
    return leased(lease, (binding) => binding.cell);
  }

  /** The live bindings and the health of their streams. */
  watches(): RemoteBindingInfo[] {
    return [...this.#live].map((b) => b.info());
  }

  /** Ends every stream and writes the snapshot one last time. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#bindings.clear();
    this.#agent.destroy();
    await this.#snapshot.flush();
  }

  #context(): BindingContext {
    return {
      url: (path, local) => {
        const url = new URL(`api/1/bind/${encodeURIComponent(this.#namespace)}`, this.#baseUrl);
        const query = [`path=${encodeURIComponent(path.show)}`, "watch=true"];
        if (local.length > 0) query.push(`dtab=${encodeURIComponent(local.show)}`);
        url.search = query.join("&");
        return url;
      },
      watchOptions: {
        agent: this.#agent,
        retry: this.#retry,
        random: this.#random,
        connectTimeoutMs: this.#connectTimeoutMs,
        keepAliveTimeoutMs: this.#keepAliveTimeoutMs,
        maxDocumentBytes: this.#maxDocumentBytes,
      },
      logger: this.#logger,
      snapshot: this.#snapshot,
      recovered: (from) => this.#recovered(from),
    };
  }

  /** One stream got through after failing: the namer is back, so the others waiting out a long backoff retry soon too. */
  #recovered(from: RemoteBinding): void {
    // Spread over one base interval so a thousand streams do not reconnect in the same instant.
    for (const b of this.#live) if (b !== from) b.retrySoon(Math.round(this.#random() * this.#retry.baseMs));
  }
}

interface BindingContext {
  readonly url: (path: Path, local: Dtab) => URL;
  readonly watchOptions: Omit<ConstructorParameters<typeof NdjsonWatch>[0], "url" | "logger">;
  readonly logger: Logger;
  readonly snapshot: BindingSnapshot;
  readonly recovered: (from: RemoteBinding) => void;
}

/** One key's live binding and the watch stream that feeds it. */
class RemoteBinding {
  readonly cell: Cell<Binding>;
  readonly #path: Path;
  readonly #local: Dtab;
  readonly #logger: Logger;
  readonly #snapshot: BindingSnapshot;
  readonly #watch: NdjsonWatch;
  #source: RemoteBindingInfo["source"];
  /** Rejected documents since the last good one (only the first is logged as a warning). */
  #rejectedInARow = 0;

  constructor(ctx: BindingContext, path: Path, local: Dtab, known: Binding | undefined) {
    this.#path = path;
    this.#local = local;
    this.#logger = ctx.logger.child({ path: path.show, ...(local.length > 0 ? { dtab: local.show } : {}) });
    this.#snapshot = ctx.snapshot;
    this.#source = known === undefined ? "none" : "snapshot";
    this.cell = new Cell<Binding>(known ?? PENDING, { equals: (a, b) => bindingKey(a) === bindingKey(b), logger: this.#logger });
    this.#watch = new NdjsonWatch(
      { ...ctx.watchOptions, url: ctx.url(path, local), logger: this.#logger },
      {
        onDocument: (line) => this.#apply(line),
        onRefused: (status, body) => this.#refused(status, body),
        onRecovered: () => ctx.recovered(this),
      },
    );
  }

  #apply(line: string): boolean {
    let binding: Binding;
    try {
      binding = parseBindDocument(line);
    } catch (e) {
      if (!(e instanceof BindDocumentError)) throw e;
      this.#rejectedInARow++;
      const log = { err: e.message, line: line.length > 200 ? `${line.slice(0, 200)}…` : line };
      if (this.#rejectedInARow === 1) this.#logger.warn(log, "the namer sent a malformed bind document; keeping the last good binding");
      else this.#logger.debug(log, "another malformed bind document");
      return false;
    }
    this.#rejectedInARow = 0;
    if (binding.type === "ok") {
      this.#source = "namer";
      if (this.cell.set(binding)) this.#snapshot.put(this.#path, this.#local, binding);
    } else if (this.cell.current().type === "ok") {
      this.#logger.warn({ binding }, "the namer reports the binding failed; keeping the last good binding");
    } else {
      this.cell.set(binding);
    }
    // The namer answered in its protocol: the stream is healthy whatever the answer.
    return true;
  }

  /** A 4xx is the namer's definite answer (bad path, no bind API): it fails a binding that has nothing better; 5xx is transient. */
  #refused(status: number, body: string): void {
    if (status < 400 || status >= 500 || status === 408 || status === 429) return;
    if (this.cell.current().type === "ok") return;
    let code = "NAMER_ERR_BINDING_FAILED";
    let cause = `the namer answered ${status}`;
    try {
      const error = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
      if (typeof error?.code === "string") code = error.code;
      if (typeof error?.message === "string") cause = error.message;
    } catch {
      if (body.trim() !== "") cause = `${cause}: ${body.trim().slice(0, 300)}`;
    }
    this.cell.set({ type: "failed", code, cause });
  }

  retrySoon(delayMs: number): void {
    this.#watch.retrySoon(delayMs);
  }

  info(): RemoteBindingInfo {
    return { path: this.#path.show, dtab: this.#local.show, source: this.#source, binding: this.cell.current().type, ...this.#watch.status };
  }

  dispose(): void {
    this.#watch.close();
  }
}
