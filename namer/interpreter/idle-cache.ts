// A cache of shared, live things (bindings, namer observations) keyed by
// what they answer: every user holds a lease; when the last lease is
// released the entry stays warm for an idle period, so the next caller (the
// next request, the next watch) reuses it instead of setting it up again.

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

export class IdleCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #idleMs: number;
  readonly #dispose: (value: T, key: string) => void;

  constructor(options: { idleMs: number; dispose: (value: T, key: string) => void }) {
    this.#idleMs = options.idleMs;
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
    const evict = (): void => {
      if (entry.leases > 0 || this.#entries.get(key) !== entry) return;
      this.#entries.delete(key);
      this.#dispose(entry.value, key);
    };
    if (this.#idleMs <= 0) evict();
    else {
      entry.idleTimer = setTimeout(evict, this.#idleMs);
      entry.idleTimer.unref();
    }
  }

  /** Disposes everything, leased or not. */
  clear(): void {
    const entries = [...this.#entries];
    this.#entries.clear();
    for (const [key, e] of entries) {
      if (e.idleTimer !== undefined) clearTimeout(e.idleTimer);
      this.#dispose(e.value, key);
    }
  }
}
