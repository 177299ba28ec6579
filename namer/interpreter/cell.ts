// A value that changes over time and tells its listeners, skipping values
// equal to the previous one (compared by a key), isolating listeners from
// each other's failures. The interpreter's live results are cells.
import type { Logger } from "../../lib/log.ts";
import type { Unsubscribe } from "../namers/types.ts";

export class Cell<T> {
  #value: T;
  #key: string;
  readonly #keyOf: (value: T) => string;
  readonly #listeners = new Set<(value: T) => void>();
  readonly #logger: Logger;

  constructor(initial: T, keyOf: (value: T) => string, logger: Logger) {
    this.#value = initial;
    this.#keyOf = keyOf;
    this.#key = keyOf(initial);
    this.#logger = logger;
  }

  get(): T {
    return this.#value;
  }

  /** Stores `value`; listeners hear of it only when it differs from the last one. Returns whether it did. */
  set(value: T): boolean {
    const key = this.#keyOf(value);
    if (key === this.#key) return false;
    this.#value = value;
    this.#key = key;
    for (const listener of [...this.#listeners]) {
      try {
        listener(value);
      } catch (e) {
        this.#logger.error({ err: e }, "a listener of a live name failed");
      }
    }
    return true;
  }

  subscribe(listener: (value: T) => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listeners(): number {
    return this.#listeners.size;
  }
}
