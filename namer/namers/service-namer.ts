// What every discovery namer does the same way: split a residual into the
// service it names and the rest, keep one shared watch per service (its Addr)
// and one per residual (its NamerAnswer), and keep the last good address set
// when discovery errors. Each namer only supplies how to watch one service.

import { isIP } from "node:net";
import { Path } from "../../dtab/index.ts";
import type { Logger } from "../../lib/log.ts";
import { errorText } from "../errors.ts";
import type { Addr, Address, NamerAnswer, Watchable } from "./types.ts";
import { Cell, constant, mapWatchable, SharedWatches } from "./watchable.ts";

/** Where a namer configured with `prefix` (/io.l5d.fs) is mounted: /#/io.l5d.fs. */
export function mountPath(prefix: string): Path {
  return Path.of("#").concat(Path.read(prefix));
}

const HOSTNAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * An IP address or a DNS name (underscores allowed, for SRV names). Digits
 * and dots that are not an IPv4 address ("10.0.0.", a truncated one) are not
 * taken for a host name.
 */
export function isHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  if (/^[0-9.]+$/.test(host)) return false;
  return HOSTNAME.test(host);
}

/** The service a residual names: its key for the namer, and how many labels the bound id takes. */
export interface ServiceName {
  readonly key: string;
  readonly consumed: number;
}

export interface ServiceAnswersOptions {
  /** The namer's mount path (/#/io.l5d.fs). */
  readonly prefix: Path;
  readonly logger: Logger;
  /** The service a residual names, or undefined when it cannot name one (neg). */
  split(residual: Path): ServiceName | undefined;
  /** Starts watching one service; closing the watchable stops it. Called once per key while observed. */
  open(key: string): Watchable<Addr>;
}

const NEG: NamerAnswer = Object.freeze({ type: "neg" });
const EMPTY_META: Readonly<Record<string, string | number>> = Object.freeze({});

/** Observations of residuals as NamerAnswers, two levels of sharing deep. */
export class ServiceAnswers {
  readonly #options: ServiceAnswersOptions;
  readonly #services = new SharedWatches<Addr>();
  readonly #answers = new SharedWatches<NamerAnswer>();
  #closed = false;

  constructor(options: ServiceAnswersOptions) {
    this.#options = options;
  }

  observe(residual: Path): Watchable<NamerAnswer> {
    if (this.#closed) return constant({ type: "failed", cause: `${this.#options.prefix.show} is closed` });
    const name = this.#options.split(residual);
    if (name === undefined) return constant(NEG);
    const id = this.#options.prefix.concat(residual.take(name.consumed));
    const rest = residual.drop(name.consumed);
    return this.#answers.observe(residual.show, () =>
      mapWatchable(
        this.#services.observe(name.key, () => this.#open(name.key)),
        (addr) => answerFor(addr, id, rest),
        { logger: this.#options.logger },
      ),
    );
  }

  /** observe never throws: a namer that cannot start a watch answers failed (and says why in the log). */
  #open(key: string): Watchable<Addr> {
    try {
      return this.#options.open(key);
    } catch (e) {
      this.#options.logger.error({ service: key, err: errorText(e) }, "cannot watch a service");
      return constant({ type: "failed", cause: `cannot watch ${key}: ${errorText(e)}` });
    }
  }

  /** The service keys being watched right now (tests, diagnostics). */
  observed(): readonly string[] {
    return this.#services.keys();
  }

  /** The current state of a watched service, without observing it. */
  peek(key: string): Addr | undefined {
    return this.#services.peek(key)?.current();
  }

  close(): void {
    this.#closed = true;
    this.#answers.closeAll();
    this.#services.closeAll();
  }
}

/** A service's state phrased for one residual: bound keeps the id and rest, the others pass through. */
export function answerFor(addr: Addr, id: Path, residual: Path): NamerAnswer {
  switch (addr.type) {
    case "bound":
      return { type: "bound", id, residual, addr };
    case "neg":
      return NEG;
    case "pending":
      return { type: "pending" };
    case "failed":
      return { type: "failed", cause: addr.cause };
    default: {
      const never: never = addr;
      return never;
    }
  }
}

/** An endpoint with only the meta entries that have a value. */
export function address(host: string, port: number, meta: Readonly<Record<string, string | number | undefined>> = {}): Address {
  const kept: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(meta)) if (v !== undefined) kept[k] = v;
  return Object.freeze({ host, port, meta: Object.freeze(kept) });
}

/**
 * A bound Addr in canonical form: sorted and without exact duplicates (a set,
 * as Finagle's), so the same endpoints in another order are no change.
 */
export function boundAddr(addrs: readonly Address[]): Addr {
  const keyed = new Map<string, Address>();
  for (const a of addrs) keyed.set(addressKey(a), a);
  const sorted = [...keyed.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, a]) => a);
  return Object.freeze({ type: "bound", addrs: Object.freeze(sorted), meta: EMPTY_META });
}

function addressKey(a: Address): string {
  const meta = Object.keys(a.meta)
    .sort()
    .map((k) => [k, a.meta[k]]);
  return `${a.host}\u0000${String(a.port).padStart(5, "0")}\u0000${JSON.stringify(meta)}`;
}

/**
 * One service's Addr as discovery reports it. `answer` publishes what
 * discovery said (bound, or neg: the name is gone). `fail` keeps the last
 * good answer — a known address set (Linkerd's field lesson, linkerd#2145:
 * an outage must not empty routes) or a known absence — and only a service
 * with no good answer yet becomes failed. A failure is logged once while it
 * lasts, and its end once.
 */
export class ServiceCell extends Cell<Addr> {
  readonly #logger: Logger;
  readonly #context: Readonly<Record<string, unknown>>;
  #failure: string | undefined;

  constructor(logger: Logger, context: Readonly<Record<string, unknown>>, onClose?: () => void) {
    super({ type: "pending" }, { logger, ...(onClose === undefined ? {} : { onClose }) });
    this.#logger = logger;
    this.#context = context;
  }

  /** A failure was reported and no answer has come since. */
  get failing(): boolean {
    return this.#failure !== undefined;
  }

  answer(addr: Addr): void {
    if (this.#failure !== undefined) {
      this.#failure = undefined;
      this.#logger.info(this.#context, "discovery answers again");
    }
    this.set(addr);
  }

  fail(cause: string, context: Readonly<Record<string, unknown>> = {}): void {
    const current = this.current();
    const kept = current.type === "bound" || current.type === "neg";
    const repeated = this.#failure === cause;
    this.#failure = cause;
    const record = { ...this.#context, ...context, err: cause, ...(kept ? { kept: current.type } : {}) };
    const message = kept ? "discovery failed; keeping the last good answer" : "discovery failed and there is no earlier answer";
    // A DNS server that stays down fails every interval: say so once, not every time.
    if (repeated) this.#logger.debug(record, message);
    else this.#logger.warn(record, message);
    if (!kept) this.set({ type: "failed", cause });
  }
}
