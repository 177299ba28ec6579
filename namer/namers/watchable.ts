// The one implementation of Watchable<T> every discovery namer builds on: a
// value cell that tells subscribers about real changes only, keeps one
// throwing listener from starving the others, and a pool that shares one
// underlying watch among everyone observing the same key.

import { type Logger, silentLogger } from "../../lib/log.ts";
import type { Unsubscribe, Watchable } from "./types.ts";

export type Equality<T> = (a: T, b: T) => boolean;

/**
 * Structural equality for the plain data namers publish: primitives, arrays,
 * plain objects (key order ignored) and anything with an `equals` method
 * (Path). A new answer that reads the same as the last one is no change.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameValue(item, b[i]));
  }
  const equals = (a as { equals?: unknown }).equals;
  if (typeof equals === "function") return Object.getPrototypeOf(a) === Object.getPrototypeOf(b) && (equals as (o: unknown) => boolean).call(a, b);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && sameValue(ra[k], rb[k]));
}

export interface CellOptions<T> {
  /** When a new value counts as the same as the last (default: sameValue). */
  readonly equals?: Equality<T>;
  /** Where a throwing listener is reported. */
  readonly logger?: Logger;
  /** Runs once, on the first close(): stop whatever feeds the cell. */
  readonly onClose?: () => void;
}

interface Subscription<T> {
  readonly listener: (value: T) => void;
  /** The last value this subscriber was told about (or the current one when it subscribed). */
  seen: T;
}

/**
 * A value that changes over time (Finagle's Var). `set` with a value equal to
 * the current one does nothing. Each subscriber is told each distinct value
 * once, in order, even when a listener sets the cell again mid-delivery.
 */
export class Cell<T> implements Watchable<T> {
  #value: T;
  readonly #equals: Equality<T>;
  readonly #logger: Logger;
  #onClose: (() => void) | undefined;
  readonly #subscriptions = new Set<Subscription<T>>();
  #delivering = false;
  #closed = false;

  constructor(initial: T, options: CellOptions<T> = {}) {
    this.#value = initial;
    this.#equals = options.equals ?? sameValue;
    this.#logger = options.logger ?? silentLogger;
    this.#onClose = options.onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  current(): T {
    return this.#value;
  }

  /** Changes the value and tells subscribers; returns whether it changed. Ignored once closed. */
  set(value: T): boolean {
    if (this.#closed || this.#equals(this.#value, value)) return false;
    this.#value = value;
    // A listener that sets the cell again gets the newer value after this
    // round ends, so every subscriber sees the values in the order they came.
    if (!this.#delivering) this.#deliver();
    return true;
  }

  subscribe(listener: (value: T) => void): Unsubscribe {
    if (this.#closed) return () => undefined;
    const subscription: Subscription<T> = { listener, seen: this.#value };
    this.#subscriptions.add(subscription);
    return () => {
      this.#subscriptions.delete(subscription);
    };
  }

  /** Drops every subscriber and runs onClose; the last value stays readable. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriptions.clear();
    const onClose = this.#onClose;
    this.#onClose = undefined;
    onClose?.();
  }

  #deliver(): void {
    this.#delivering = true;
    try {
      for (let again = true; again; ) {
        again = false;
        const value = this.#value;
        for (const subscription of [...this.#subscriptions]) {
          // Unsubscribed by an earlier listener in this round, or already told.
          if (!this.#subscriptions.has(subscription) || this.#equals(subscription.seen, value)) continue;
          subscription.seen = value;
          try {
            subscription.listener(value);
          } catch (err) {
            this.#logger.error({ err }, "a discovery listener threw; the others are still told");
          }
          if (this.#value !== value) again = true;
        }
      }
    } finally {
      this.#delivering = false;
    }
  }
}

/** A watchable that never changes and holds nothing (neg for a name a namer cannot bind, static sets). */
export function constant<T>(value: T): Watchable<T> {
  return {
    current: () => value,
    subscribe: () => () => undefined,
    close: () => undefined,
  };
}

/**
 * `source` seen through `f`: a derived watchable that follows the source,
 * deduplicated on the mapped value, and closes the source when closed.
 */
export function mapWatchable<A, B>(source: Watchable<A>, f: (a: A) => B, options: Omit<CellOptions<B>, "onClose"> = {}): Watchable<B> {
  let unsubscribe: Unsubscribe = () => undefined;
  const cell = new Cell(f(source.current()), {
    ...options,
    onClose: () => {
      unsubscribe();
      source.close();
    },
  });
  unsubscribe = source.subscribe((a) => cell.set(f(a)));
  return cell;
}

interface Shared<T> {
  readonly watch: Watchable<T>;
  handles: number;
}

/**
 * Shares one underlying watch per key: the first observer opens it, later ones
 * get handles onto the same one, and the last handle to close closes it. Each
 * handle's close also drops the listeners subscribed through that handle.
 */
export class SharedWatches<T> {
  readonly #open = new Map<string, Shared<T>>();
  #closed = false;

  /** A handle on the watch for `key`, opened with `open` when nobody observes it yet. */
  observe(key: string, open: () => Watchable<T>): Watchable<T> {
    let shared = this.#open.get(key);
    if (shared === undefined) {
      shared = { watch: open(), handles: 0 };
      // Opened after closeAll (a straggling observe): hand it out, but do not keep it.
      if (!this.#closed) this.#open.set(key, shared);
    }
    shared.handles++;
    return this.#handle(key, shared);
  }

  /** The keys with an open watch (tests and diagnostics). */
  keys(): readonly string[] {
    return [...this.#open.keys()];
  }

  /** The open underlying watch for `key`, without taking a handle. */
  peek(key: string): Watchable<T> | undefined {
    return this.#open.get(key)?.watch;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Closes every underlying watch; handles keep their last value and tell nobody anything more. */
  closeAll(): void {
    this.#closed = true;
    const all = [...this.#open.values()];
    this.#open.clear();
    for (const shared of all) shared.watch.close();
  }

  #handle(key: string, shared: Shared<T>): Watchable<T> {
    const unsubscribes = new Set<Unsubscribe>();
    let closed = false;
    return {
      current: () => shared.watch.current(),
      subscribe: (listener) => {
        if (closed) return () => undefined;
        const unsubscribe = shared.watch.subscribe(listener);
        unsubscribes.add(unsubscribe);
        return () => {
          unsubscribes.delete(unsubscribe);
          unsubscribe();
        };
      },
      close: () => {
        if (closed) return;
        closed = true;
        for (const unsubscribe of unsubscribes) unsubscribe();
        unsubscribes.clear();
        if (--shared.handles > 0) return;
        if (this.#open.get(key) === shared) this.#open.delete(key);
        shared.watch.close();
      },
    };
  }
}
