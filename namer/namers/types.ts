// The contract every service-discovery namer implements (io.l5d.fs, DNS,
// static, the registry): given what follows its mount prefix, say — and keep
// saying, as it changes — whether that names a service and at which addresses.
// One contract suite (test/namer/namers/contract.ts) runs every implementation.

import type { Path } from "../../dtab/index.ts";

/** One endpoint of a service. */
export interface Address {
  readonly host: string;
  readonly port: number;
  /**
   * What discovery knows about the endpoint: `weight` (relative, default 1),
   * `nodeName` (the host or node it runs on), `zone`, and whatever else a
   * namer reports. Values are strings or numbers.
   */
  readonly meta: Readonly<Record<string, string | number>>;
}

/**
 * A bound name's address set, as Finagle's Addr: bound (possibly empty), neg
 * (the name does not exist any more), pending (not known yet) or failed.
 */
export type Addr =
  | { readonly type: "bound"; readonly addrs: readonly Address[]; readonly meta: Readonly<Record<string, string | number>> }
  | { readonly type: "neg" }
  | { readonly type: "pending" }
  | { readonly type: "failed"; readonly cause: string };

/**
 * A namer's answer for one residual path: `neg` when it names nothing (the
 * interpreter then tries the next namer), `bound` with the consumed part as
 * `id` (the full path, mount prefix included, e.g. /#/io.l5d.fs/users), the
 * unconsumed rest as `residual`, and its current address set; `pending`
 * while the first answer is not in yet; `failed` when discovery itself
 * errors (and no earlier good answer exists).
 */
export type NamerAnswer =
  | { readonly type: "neg" }
  | { readonly type: "bound"; readonly id: Path; readonly residual: Path; readonly addr: Addr }
  | { readonly type: "pending" }
  | { readonly type: "failed"; readonly cause: string };

export type Unsubscribe = () => void;

/**
 * A value that changes over time. `current()` is always answerable;
 * `subscribe` calls the listener on every later change (not for the current
 * value), never twice in a row with an equal value; `close` releases what
 * the observation holds (file watches, timers) once nobody needs it.
 */
export interface Watchable<T> {
  current(): T;
  subscribe(listener: (value: T) => void): Unsubscribe;
  close(): void;
}

export interface DiscoveryNamer {
  /** The config kind, e.g. "io.l5d.fs". */
  readonly kind: string;
  /** Where it is mounted: `/#` + the configured prefix, e.g. /#/io.l5d.fs. */
  readonly prefix: Path;
  /**
   * Observes what `residual` (the path after the prefix) names. Observing the
   * same residual twice may share one underlying watch. An answer that was
   * bound never turns into failed or pending because of a transient error or
   * an invalid read: the last good address set is kept (and the error logged).
   */
  observe(residual: Path): Watchable<NamerAnswer>;
  /** Every name this namer can currently bind (for /api/1/bound-names), as full ids; optional. */
  names?(): Watchable<readonly Path[]>;
  close(): Promise<void>;
}
