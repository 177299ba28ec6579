// The dtab store contract: namespaces of dtabs, each versioned, with history
// and an audit trail, and watches that tell consumers about every change.
// Implemented by the embedded store (memory, optionally persisted to disk) and
// the Redis store; one contract suite (test/namer/store/contract.ts) runs both.

import type { Dtab } from "../../dtab/index.ts";

/** A namespace's dtab as stored. Versions are decimal strings ("1", "2", …) that only ever grow. */
export interface VersionedDtab {
  readonly namespace: string;
  readonly dtab: Dtab;
  readonly version: string;
  /** ISO-8601 time of the write that made this version. */
  readonly updatedAt: string;
}

/** Who is writing and from where, recorded in history and the audit trail. Never holds secrets. */
export interface WriteContext {
  /** Who: a token's name, a user name sent by namerctl, or "anonymous". */
  readonly actor?: string;
  /** From where: the client's address, e.g. "127.0.0.1". */
  readonly source?: string;
}

export interface WriteResult {
  readonly namespace: string;
  /** The version the write created. */
  readonly version: string;
  /** Present when the store was asked to wait for replicas (Redis WAIT). */
  readonly replication?: { readonly requested: number; readonly acknowledged: number; readonly timeoutMs: number };
}

export type HistoryAction = "create" | "update" | "delete" | "rollback";

/** One kept version of a namespace (newest first in listings). */
export interface HistoryEntry {
  readonly version: string;
  readonly action: HistoryAction;
  /** The dtab of this version in show form; "" for a delete. */
  readonly dtab: string;
  readonly at: string;
  readonly actor: string;
  readonly source: string;
  /** The version this write replaced, absent when the namespace did not exist. */
  readonly previousVersion?: string;
  /** For a rollback: the version whose dtab was restored. */
  readonly restoredVersion?: string;
}

/** One audit record: who changed what, when, from where, old and new version. Kept longer than history. */
export interface AuditEntry {
  readonly at: string;
  readonly actor: string;
  readonly source: string;
  readonly namespace: string;
  readonly action: HistoryAction;
  readonly oldVersion?: string;
  readonly newVersion: string;
}

export interface StoreHealth {
  /** True when writes can be attempted (the embedded store always; Redis while connected). */
  readonly writable: boolean;
  /** True once a full snapshot has been loaded; reads are served from it from then on. */
  readonly synced: boolean;
  /** Human-readable state, e.g. "connected to redis://127.0.0.1:6379". */
  readonly detail: string;
}

export type Unsubscribe = () => void;

/**
 * Reads (list, get, watches) are answered from memory, so they keep working
 * while a remote backend is unreachable; writes go to the backend and fail
 * with NAMER_ERR_STORE_UNAVAILABLE when it cannot be reached. Errors are
 * NamerErrors: NOT_FOUND, EXISTS, VERSION_MISMATCH, VERSION_UNKNOWN,
 * STORE_UNAVAILABLE. Namespace names are validated by the caller.
 */
export interface DtabStore {
  /** Namespace names, sorted. */
  list(): Promise<readonly string[]>;
  /** The namespace's dtab and version, or undefined when it does not exist. */
  get(namespace: string): Promise<VersionedDtab | undefined>;
  /** Creates a namespace; NAMER_ERR_EXISTS if it exists. Its version continues any earlier life of the name. */
  create(namespace: string, dtab: Dtab, ctx?: WriteContext): Promise<WriteResult>;
  /**
   * Compare-and-set: replaces the dtab only if the current version is
   * `expectedVersion` ("*" matches any existing version). NOT_FOUND when the
   * namespace does not exist, VERSION_MISMATCH when the version differs.
   */
  update(namespace: string, dtab: Dtab, expectedVersion: string, ctx?: WriteContext): Promise<WriteResult>;
  /** Unconditional create-or-update (namerd's PUT without If-Match). */
  put(namespace: string, dtab: Dtab, ctx?: WriteContext): Promise<WriteResult>;
  /** Deletes; with `expectedVersion` only if it matches. NOT_FOUND when missing. Returns the delete's version. */
  delete(namespace: string, expectedVersion?: string, ctx?: WriteContext): Promise<WriteResult>;
  /**
   * Restores the dtab of an earlier kept version as a new version (audited as
   * "rollback"). With `expectedVersion`, only if the current version matches.
   * VERSION_UNKNOWN when `toVersion` is not in the kept history.
   */
  rollback(namespace: string, toVersion: string, expectedVersion?: string, ctx?: WriteContext): Promise<WriteResult>;
  /** Kept versions, newest first (at most the configured history size). Works for deleted namespaces too. */
  history(namespace: string, limit?: number): Promise<readonly HistoryEntry[]>;
  /** Audit records for a namespace, newest first. */
  audit(namespace: string, limit?: number): Promise<readonly AuditEntry[]>;
  /**
   * Calls `listener` now with the current sorted namespace list and again on
   * every change to it (never twice in a row with the same list).
   */
  watchNamespaces(listener: (namespaces: readonly string[]) => void): Unsubscribe;
  /**
   * Calls `listener` now with the namespace's current state (undefined when it
   * does not exist) and again on every new version, in version order. A
   * consumer that falls behind may skip intermediate versions but always ends
   * on the latest.
   */
  watch(namespace: string, listener: (state: VersionedDtab | undefined) => void): Unsubscribe;
  health(): StoreHealth;
  /** Calls `listener` whenever health() changes. */
  onHealth(listener: (health: StoreHealth) => void): Unsubscribe;
  close(): Promise<void>;
}
