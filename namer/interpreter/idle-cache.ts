// A cache of shared, live things (bindings, namer observations) keyed by
// what they answer: every user holds a lease; when the last lease is
// released the entry stays warm for an idle period, so the next caller (the
// next request, the next watch) reuses it instead of setting it up again.
// How many entries stay warm is capped: past the cap the longest idle go at
// once, so a flood of names used once cannot hold memory (or watches on a
// namer) for the whole idle period.

export interface Lease<T> {
  readonly value: T;
  /** Gives the lease back; calling it twice is harmless. */
  release(): void;
}

interface Entry<T> {
  readonly value: T;
  leases: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * Idle entries kept warm when the owner does not say: namerd's default for
 * its inactive binding cache. Under a flood of one-off names a router
 * levels off about 30 MB lower than with 1000.
 */
export const DEFAULT_MAX_IDLE = 100;

export class IdleCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  /** Entries with no lease, longest idle first. */
  readonly #idle = new Map<string, Entry<T>>();
  readonly #idleMs: number;
  readonly #maxIdle: number;
  readonly #dispose: (value: T, key: string) => void;

  constructor(options: { idleMs: number; maxIdle?: number | undefined; dispose: (value: T, key: string) => void }) {
    this.#idleMs = options.idleMs;
    this.#maxIdle = options.maxIdle ?? DEFAULT_MAX_IDLE;
    this.#dispose = options.dispose;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Entries with at least one lease. */
  get active(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.leases > 0) n++;
    return n;
  }

  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** The value for `key`, made by `create` when absent, with a lease on it. */
  acquire(key: string, create: () => T): Lease<T> {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { value: create(), leases: 0, idleTimer: undefined };
      this.#entries.set(key, entry);
    }
    if (entry.idleTimer !== undefined) {
      clearTimeout(entry.idleTimer);
      entry.idleTimer = undefined;
    }
    this.#idle.delete(key);
    entry.leases++;
    const held = entry;
    let released = false;
    return {
      value: held.value,
      release: () => {
        if (released) return;
        released = true;
        this.#release(key, held);
      },
    };
  }

  #release(key: string, entry: Entry<T>): void {
    entry.leases--;
    if (entry.leases > 0 || this.#entries.get(key) !== entry) return;
    if (this.#idleMs <= 0 || this.#maxIdle <= 0) {
      this.#evict(key, entry);
      return;
    }
    entry.idleTimer = setTimeout(() => this.#evict(key, entry), this.#idleMs);
    entry.idleTimer.unref();
    this.#idle.set(key, entry);
    for (const [oldKey, oldEntry] of this.#idle) {
      if (this.#idle.size <= this.#maxIdle) break;
      this.#evict(oldKey, oldEntry);
    }
  }

  #evict(key: string, entry: Entry<T>): void {
    if (entry.leases > 0 || this.#entries.get(key) !== entry) return;
    if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
    this.#idle.delete(key);
    this.#entries.delete(key);
    this.#dispose(entry.value, key);
  }

  /** Disposes everything, leased or not. */
  clear(): void {
    const entries = [...this.#entries];
    this.#entries.clear();
    this.#idle.clear();
    for (const [key, e] of entries) {
      if (e.idleTimer !== undefined) clearTimeout(e.idleTimer);
      this.#dispose(e.value, key);
    }
  }
}
