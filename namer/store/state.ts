// What every dtab store shares: the in-memory table reads and watches are
// served from (newer versions only, deletions as explicit tombstones, one
// notification per new version), and the write rules — version arithmetic,
// the checks of create/update/put/delete/rollback, history and audit entries,
// rollback lookup — so the embedded and the Redis store cannot drift apart.
// The Redis store's Lua script mirrors `planWrite` (it must run inside Redis
// to be atomic); the contract suite holds both to the same behaviour.

import { z } from "zod";
import { Dtab } from "../../dtab/index.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { NamerError } from "../errors.ts";
import type { AuditEntry, HistoryAction, HistoryEntry, Unsubscribe, VersionedDtab, WriteContext, WriteResult } from "./types.ts";

/** History entries kept per namespace unless configured otherwise. */
export const DEFAULT_HISTORY_SIZE = 50;
/** Audit records kept per namespace unless configured otherwise. */
export const DEFAULT_AUDIT_SIZE = 1000;

/**
 * One namespace as a store knows it. A deletion is a state of its own (a
 * tombstone, `dtab` undefined) rather than an absence: it carries the version
 * counter forward, so a re-created namespace keeps counting up, and a late
 * event for an older version cannot resurrect the deleted dtab.
 */
export interface NamespaceState {
  readonly namespace: string;
  readonly version: string;
  /** ISO-8601 time of the write that made this version. */
  readonly updatedAt: string;
  /** The dtab; undefined when this version is a deletion. */
  readonly dtab: Dtab | undefined;
}

// ---------------------------------------------------------------------------
// Versions: decimal strings compared as integers ("10" > "9").

const VERSION = /^(0|[1-9][0-9]*)$/;

export function isVersion(s: string): boolean {
  return VERSION.test(s);
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The version a write creates: one above both the namespace's stored counter
 * and `floor`, the highest version this process has ever seen for it. The
 * floor keeps versions growing even when a backend lost data (a Redis restart
 * without persistence), so consumers never see a version number reused.
 */
export function nextVersion(current: string | undefined, floor?: string): string {
  let base = current === undefined ? 0n : BigInt(current);
  if (floor !== undefined && BigInt(floor) > base) base = BigInt(floor);
  return (base + 1n).toString();
}

// ---------------------------------------------------------------------------
// Errors every store reports the same way.

export function notFoundError(namespace: string): NamerError {
  return new NamerError("NAMER_ERR_NOT_FOUND", `namespace "${namespace}" does not exist`, { details: { namespace } });
}

export function existsError(namespace: string, currentVersion: string): NamerError {
  return new NamerError("NAMER_ERR_EXISTS", `namespace "${namespace}" already exists (version ${currentVersion})`, {
    details: { namespace, currentVersion },
  });
}

export function versionMismatchError(namespace: string, expectedVersion: string, currentVersion: string): NamerError {
  return new NamerError(
    "NAMER_ERR_VERSION_MISMATCH",
    `namespace "${namespace}" is at version ${currentVersion}, not ${expectedVersion}: it changed since it was read`,
    { details: { namespace, expectedVersion, currentVersion } },
  );
}

function versionUnknownError(namespace: string, version: string, why: string): NamerError {
  return new NamerError("NAMER_ERR_VERSION_UNKNOWN", `cannot roll namespace "${namespace}" back to version ${version}: ${why}`, {
    details: { namespace, version },
  });
}

// ---------------------------------------------------------------------------
// Writes.

/** Who wrote, with the defaults recorded when the caller did not say. */
export interface Author {
  readonly actor: string;
  readonly source: string;
}

export function authorOf(ctx: WriteContext | undefined): Author {
  return { actor: ctx?.actor || "anonymous", source: ctx?.source || "unknown" };
}

/** A write as both stores receive it; `expectedVersion` "*" matches any existing version. */
export type WriteRequest =
  | { readonly op: "create"; readonly dtab: Dtab }
  | { readonly op: "update"; readonly dtab: Dtab; readonly expectedVersion: string }
  | { readonly op: "put"; readonly dtab: Dtab }
  | { readonly op: "delete"; readonly expectedVersion?: string | undefined }
  | { readonly op: "rollback"; readonly dtab: Dtab; readonly restoredVersion: string; readonly expectedVersion?: string | undefined };

/** What a write does, once its checks passed: the new state and the records to keep. */
export interface WritePlan {
  readonly state: NamespaceState;
  readonly history: HistoryEntry;
  readonly audit: AuditEntry;
}

/**
 * Checks a write against the namespace's current state and plans it. Throws
 * NOT_FOUND, EXISTS or VERSION_MISMATCH. The Redis Lua script makes the same
 * checks in the same order; keep the two in step.
 */
export function planWrite(
  namespace: string,
  current: NamespaceState | undefined,
  request: WriteRequest,
  author: Author,
  at: string,
  floor?: string,
): WritePlan {
  const live = current !== undefined && current.dtab !== undefined;
  const expected = request.op === "create" || request.op === "put" ? undefined : request.expectedVersion;
  const needsLive = request.op === "update" || request.op === "delete" || (request.op === "rollback" && expected !== undefined);
  if (request.op === "create" && live) throw existsError(namespace, current.version);
  if (needsLive && !live) throw notFoundError(namespace);
  if (live && expected !== undefined && expected !== "*" && expected !== current.version) {
    throw versionMismatchError(namespace, expected, current.version);
  }

  const action: HistoryAction =
    request.op === "put" ? (live ? "update" : "create") : request.op;
  const version = nextVersion(current?.version, floor);
  const dtab = request.op === "delete" ? undefined : request.dtab;
  const previousVersion = live ? current.version : undefined;
  const restoredVersion = request.op === "rollback" ? request.restoredVersion : undefined;
  return {
    state: { namespace, version, updatedAt: at, dtab },
    history: historyEntry({ version, action, dtab: dtab?.show ?? "", at, author, previousVersion, restoredVersion }),
    audit: auditEntry({ at, author, namespace, action, oldVersion: previousVersion, newVersion: version }),
  };
}

export function historyEntry(fields: {
  version: string;
  action: HistoryAction;
  dtab: string;
  at: string;
  author: Author;
  previousVersion: string | undefined;
  restoredVersion: string | undefined;
}): HistoryEntry {
  return {
    version: fields.version,
    action: fields.action,
    dtab: fields.dtab,
    at: fields.at,
    actor: fields.author.actor,
    source: fields.author.source,
    ...(fields.previousVersion === undefined ? {} : { previousVersion: fields.previousVersion }),
    ...(fields.restoredVersion === undefined ? {} : { restoredVersion: fields.restoredVersion }),
  };
}

export function auditEntry(fields: {
  at: string;
  author: Author;
  namespace: string;
  action: HistoryAction;
  oldVersion: string | undefined;
  newVersion: string;
}): AuditEntry {
  return {
    at: fields.at,
    actor: fields.author.actor,
    source: fields.author.source,
    namespace: fields.namespace,
    action: fields.action,
    ...(fields.oldVersion === undefined ? {} : { oldVersion: fields.oldVersion }),
    newVersion: fields.newVersion,
  };
}

/**
 * The kept version a rollback restores, with its dtab. VERSION_UNKNOWN when
 * the version is not kept, or is a deletion (there is no dtab to restore).
 */
export function findRollbackTarget(namespace: string, history: readonly HistoryEntry[], toVersion: string): { entry: HistoryEntry; dtab: Dtab } {
  const entry = history.find((h) => h.version === toVersion);
  if (entry === undefined) {
    const kept = history.length === 0 ? "no versions are kept" : `kept versions are ${history.at(-1)?.version}–${history[0]?.version}`;
    throw versionUnknownError(namespace, toVersion, `it is not in the kept history (${kept})`);
  }
  if (entry.action === "delete") throw versionUnknownError(namespace, toVersion, "that version is a deletion, there is no dtab to restore");
  return { entry, dtab: Dtab.read(entry.dtab) };
}

/** Validates a size or duration option: a positive integer. */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** Newest-first entries cut to a caller's limit (undefined: all kept). */
export function limited<T>(entries: readonly T[], limit: number | undefined): readonly T[] {
  if (limit === undefined) return entries;
  return entries.slice(0, Math.max(0, Math.floor(limit)));
}

// ---------------------------------------------------------------------------
// Stored forms, validated when read back (from disk or from Redis).

const version = z.string().regex(VERSION, "must be a decimal version");
const action = z.enum(["create", "update", "delete", "rollback"]);

export const historyEntrySchema = z.object({
  version,
  action,
  dtab: z.string(),
  at: z.string(),
  actor: z.string(),
  source: z.string(),
  previousVersion: version.exactOptional(),
  restoredVersion: version.exactOptional(),
});

export const auditEntrySchema = z.object({
  at: z.string(),
  actor: z.string(),
  source: z.string(),
  namespace: z.string(),
  action,
  oldVersion: version.exactOptional(),
  newVersion: version,
});

/** Parses one stored JSON record with `schema`, or returns why it is unreadable. */
export function parseStored<T>(schema: z.ZodType<T>, json: string): { ok: true; value: T } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    return { ok: false, error: `not JSON: ${(e as Error).message}` };
  }
  const result = schema.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: z.prettifyError(result.error) };
}

/** Builds a state from its stored fields; throws an Error saying what is wrong (bad version, dtab that does not parse). */
export function stateFrom(fields: { namespace: string; version: string; updatedAt: string; dtab: string | undefined }): NamespaceState {
  if (!isVersion(fields.version)) throw new Error(`namespace "${fields.namespace}": version ${JSON.stringify(fields.version)} is not a decimal number`);
  let dtab: Dtab | undefined;
  if (fields.dtab !== undefined) {
    try {
      dtab = Dtab.read(fields.dtab);
    } catch (e) {
      throw new Error(`namespace "${fields.namespace}" version ${fields.version}: the dtab does not parse: ${(e as Error).message}`, { cause: e });
    }
  }
  return { namespace: fields.namespace, version: fields.version, updatedAt: fields.updatedAt, dtab };
}

// ---------------------------------------------------------------------------
// The shared in-memory table.

type NamespacesListener = (namespaces: readonly string[]) => void;
type NamespaceListener = (state: VersionedDtab | undefined) => void;

interface Entry {
  readonly state: NamespaceState;
  /** What get() and watchers see; built once per version so every reader gets the same frozen object. */
  readonly view: VersionedDtab | undefined;
  /** Value of the change counter when this entry was set (see mark()). */
  readonly changedAt: number;
}

/** A full read of the backend, for reconcile(). */
export interface Snapshot {
  /** The states that could be read. */
  readonly states: readonly NamespaceState[];
  /** Every namespace the backend has, including ones whose state could not be read (those are left as they are). */
  readonly namespaces: ReadonlySet<string>;
}

function viewOf(state: NamespaceState): VersionedDtab | undefined {
  if (state.dtab === undefined) return undefined;
  return Object.freeze({ namespace: state.namespace, dtab: state.dtab, version: state.version, updatedAt: state.updatedAt });
}

/**
 * Namespaces, their versions and their watchers. States only move forward:
 * apply() ignores anything not newer than what is known, so duplicate,
 * late or out-of-order events are harmless. Listeners run synchronously in
 * version order; one that throws is logged and does not disturb the others.
 */
export class DtabState {
  readonly #logger: Logger;
  readonly #entries = new Map<string, Entry>();
  /** Highest version ever seen per namespace, kept even when a backend's data went backwards (see nextVersion). */
  readonly #highWater = new Map<string, string>();
  readonly #namespacesListeners = new Set<NamespacesListener>();
  readonly #listeners = new Map<string, Set<NamespaceListener>>();
  #names: readonly string[] = Object.freeze([]);
  #changes = 0;
  /** Notifications raised while others are being delivered wait here, so every listener sees versions in order. */
  readonly #pending: (() => void)[] = [];
  #delivering = false;
  #warnedEmpty = false;

  constructor(logger: Logger = silentLogger) {
    this.#logger = logger;
  }

  /** Live namespace names, sorted. */
  list(): readonly string[] {
    return this.#names;
  }

  get(namespace: string): VersionedDtab | undefined {
    return this.#entries.get(namespace)?.view;
  }

  /** The namespace's state including a deletion, or undefined when nothing is known. */
  state(namespace: string): NamespaceState | undefined {
    return this.#entries.get(namespace)?.state;
  }

  /** Every known state, deletions included (for persistence and version checks). */
  states(): NamespaceState[] {
    return [...this.#entries.values()].map((e) => e.state);
  }

  /** The highest version ever seen for the namespace; a write's floor. */
  highWater(namespace: string): string | undefined {
    return this.#highWater.get(namespace);
  }

  /** Applies a state if it is newer than the known one; returns whether it did. */
  apply(state: NamespaceState): boolean {
    const known = this.#entries.get(state.namespace);
    if (known !== undefined && compareVersions(state.version, known.state.version) <= 0) return false;
    this.#set(state);
    return true;
  }

  /** A point in the change sequence: reconcile(snapshot, mark) leaves alone whatever changed after it. */
  mark(): number {
    return this.#changes;
  }

  /**
   * Brings the table in line with a full read of the backend taken after
   * `since` = mark(). Newer states apply. A lower version than known means the
   * backend lost data: it is followed (the backend is the authority) and
   * logged, unless this process changed the namespace during the read, which
   * makes the read the stale one. A namespace missing from the read is
   * dropped, except when the read found no namespaces at all: an empty read
   * never replaces known dtabs (an emptied or replaced Redis must not empty
   * the routing of every service).
   */
  reconcile(snapshot: Snapshot, since: number): void {
    for (const state of snapshot.states) {
      const known = this.#entries.get(state.namespace);
      if (known === undefined || compareVersions(state.version, known.state.version) > 0) {
        this.#set(state);
      } else if (compareVersions(state.version, known.state.version) < 0 && known.changedAt <= since) {
        this.#logger.error(
          { namespace: state.namespace, knownVersion: known.state.version, storeVersion: state.version },
          "dtab store went back to an older version (data lost in the backend?); following the store",
        );
        this.#set(state);
      }
    }
    const missing = [...this.#entries.values()].filter((e) => !snapshot.namespaces.has(e.state.namespace) && e.changedAt <= since);
    if (snapshot.namespaces.size === 0 && missing.some((e) => e.view !== undefined)) {
      if (!this.#warnedEmpty) {
        this.#logger.warn(
          { known: this.#names.length },
          "dtab store returned no namespaces at all; keeping the known ones (an empty read never replaces known dtabs)",
        );
      }
      this.#warnedEmpty = true;
      return;
    }
    this.#warnedEmpty = false;
    for (const entry of missing) {
      if (entry.view !== undefined) {
        this.#logger.warn({ namespace: entry.state.namespace, version: entry.state.version }, "namespace vanished from the dtab store without a delete; dropping it");
      }
      this.#remove(entry.state.namespace);
    }
  }

  watchNamespaces(listener: NamespacesListener): Unsubscribe {
    this.#namespacesListeners.add(listener);
    this.#call(listener, this.#names);
    return () => {
      this.#namespacesListeners.delete(listener);
    };
  }

  watch(namespace: string, listener: NamespaceListener): Unsubscribe {
    let set = this.#listeners.get(namespace);
    if (set === undefined) this.#listeners.set(namespace, (set = new Set()));
    set.add(listener);
    this.#call(listener, this.get(namespace));
    return () => {
      const current = this.#listeners.get(namespace);
      current?.delete(listener);
      if (current?.size === 0) this.#listeners.delete(namespace);
    };
  }

  #set(state: NamespaceState): void {
    const before = this.#entries.get(state.namespace)?.view;
    const view = viewOf(state);
    this.#entries.set(state.namespace, { state, view, changedAt: ++this.#changes });
    const high = this.#highWater.get(state.namespace);
    if (high === undefined || compareVersions(state.version, high) > 0) this.#highWater.set(state.namespace, state.version);
    this.#changed(state.namespace, before, view);
  }

  #remove(namespace: string): void {
    const before = this.#entries.get(namespace)?.view;
    this.#entries.delete(namespace);
    this.#changes++;
    this.#changed(namespace, before, undefined);
  }

  #changed(namespace: string, before: VersionedDtab | undefined, after: VersionedDtab | undefined): void {
    // A deletion of something already absent changes nothing a reader can see.
    if (before === undefined && after === undefined) return;
    // Queue every notification of this change before delivering any, so a
    // change a listener causes reaches all listeners after this one.
    const listeners = this.#listeners.get(namespace);
    if (listeners !== undefined) {
      for (const listener of [...listeners]) this.#pending.push(() => listeners.has(listener) && this.#call(listener, after));
    }
    if ((before === undefined) !== (after === undefined)) {
      this.#names = Object.freeze(
        [...this.#entries.values()]
          .filter((e) => e.view !== undefined)
          .map((e) => e.state.namespace)
          .sort(),
      );
      const names = this.#names;
      for (const listener of [...this.#namespacesListeners]) {
        this.#pending.push(() => this.#namespacesListeners.has(listener) && this.#call(listener, names));
      }
    }
    this.#drain();
  }

  #drain(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) next();
    } finally {
      this.#delivering = false;
    }
  }

  #call<T>(listener: (value: T) => void, value: T): void {
    try {
      listener(value);
    } catch (err) {
      this.#logger.error({ err }, "a dtab store watcher threw; the store carries on");
    }
  }
}

/**
 * What both stores share: reads and watches answered from the in-memory
 * state, and the write verbs turned into WriteRequests for the one
 * backend-specific `commit` (a queued file write, or a Lua script on Redis).
 */
export abstract class StateBackedStore {
  protected readonly state: DtabState;

  protected constructor(logger: Logger) {
    this.state = new DtabState(logger);
  }

  async list(): Promise<readonly string[]> {
    return this.state.list();
  }

  async get(namespace: string): Promise<VersionedDtab | undefined> {
    return this.state.get(namespace);
  }

  create(namespace: string, dtab: Dtab, ctx?: WriteContext): Promise<WriteResult> {
    return this.commit(namespace, { op: "create", dtab }, ctx);
  }

  update(namespace: string, dtab: Dtab, expectedVersion: string, ctx?: WriteContext): Promise<WriteResult> {
    return this.commit(namespace, { op: "update", dtab, expectedVersion }, ctx);
  }

  put(namespace: string, dtab: Dtab, ctx?: WriteContext): Promise<WriteResult> {
    return this.commit(namespace, { op: "put", dtab }, ctx);
  }

  delete(namespace: string, expectedVersion?: string, ctx?: WriteContext): Promise<WriteResult> {
    return this.commit(namespace, { op: "delete", expectedVersion }, ctx);
  }

  watchNamespaces(listener: (namespaces: readonly string[]) => void): Unsubscribe {
    return this.state.watchNamespaces(listener);
  }

  watch(namespace: string, listener: (state: VersionedDtab | undefined) => void): Unsubscribe {
    return this.state.watch(namespace, listener);
  }

  /** Applies one write atomically; a function request is evaluated at commit time (inside the write queue). */
  protected abstract commit(namespace: string, request: WriteRequest | (() => WriteRequest), ctx: WriteContext | undefined): Promise<WriteResult>;
}
