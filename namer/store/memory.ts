// The embedded dtab store, meshd's default when no Redis is configured: all
// state in memory, optionally persisted to <dataDir>/dtabs.json (written
// atomically after every write) so a restarted namer keeps its dtabs,
// versions, history and audit trail.

import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { Dtab } from "../../dtab/index.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { NamerError } from "../errors.ts";
import {
  type Author,
  auditEntrySchema,
  authorOf,
  DEFAULT_AUDIT_SIZE,
  DEFAULT_HISTORY_SIZE,
  StateBackedStore,
  findRollbackTarget,
  historyEntrySchema,
  limited,
  type NamespaceState,
  planWrite,
  positiveInteger,
  stateFrom,
  type WritePlan,
  type WriteRequest,
} from "./state.ts";
import type {
  AuditEntry,
  DtabStore,
  HistoryEntry,
  StoreHealth,
  Unsubscribe,
  WriteContext,
  WriteResult,
} from "./types.ts";

export interface MemoryDtabStoreOptions {
  /** Initial dtab text per namespace; used only when there is no persisted data. */
  readonly namespaces?: Readonly<Record<string, string>> | undefined;
  /** Directory for dtabs.json; without it nothing survives a restart. Created if missing. */
  readonly dataDir?: string | undefined;
  /** Versions kept per namespace for history and rollback (default 50). */
  readonly historySize?: number | undefined;
  /** Audit records kept per namespace (default 1000). */
  readonly auditSize?: number | undefined;
  /** Clock for `updatedAt` and history times (tests inject one). */
  readonly now?: (() => Date) | undefined;
  readonly logger?: Logger | undefined;
}

/** File name inside dataDir. */
export const DATA_FILE = "dtabs.json";

/** Who the seeded namespaces are recorded as written by. */
const SEED_AUTHOR: Author = { actor: "meshd", source: "config" };

const persistedSchema = z.object({
  format: z.literal("meshd-dtabs"),
  formatVersion: z.literal(1),
  /** Every namespace ever written, deletions included (dtab null): their versions are the counters. */
  namespaces: z.record(z.string(), z.object({ version: z.string(), updatedAt: z.string(), dtab: z.string().nullable() })),
  history: z.record(z.string(), z.array(historyEntrySchema)),
  audit: z.record(z.string(), z.array(auditEntrySchema)),
});
type Persisted = z.infer<typeof persistedSchema>;

export class MemoryDtabStore extends StateBackedStore implements DtabStore {
  readonly #history = new Map<string, readonly HistoryEntry[]>();
  readonly #audit = new Map<string, readonly AuditEntry[]>();
  readonly #file: string | undefined;
  readonly #historySize: number;
  readonly #auditSize: number;
  readonly #now: () => Date;
  readonly #logger: Logger;
  /** Tail of the write queue: writes run one at a time, like Lua scripts on Redis. */
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: MemoryDtabStoreOptions) {
    const logger = options.logger ?? silentLogger;
    super(logger);
    this.#logger = logger;
    this.#file = options.dataDir === undefined ? undefined : join(options.dataDir, DATA_FILE);
    this.#historySize = positiveInteger("historySize", options.historySize ?? DEFAULT_HISTORY_SIZE);
    this.#auditSize = positiveInteger("auditSize", options.auditSize ?? DEFAULT_AUDIT_SIZE);
    this.#now = options.now ?? (() => new Date());
  }

  /** Opens the store: loads dataDir/dtabs.json when it exists, otherwise seeds `namespaces`. */
  static async open(options: MemoryDtabStoreOptions = {}): Promise<MemoryDtabStore> {
    const store = new MemoryDtabStore(options);
    await store.#load(options.namespaces ?? {});
    return store;
  }

  rollback(namespace: string, toVersion: string, expectedVersion?: string, ctx?: WriteContext): Promise<WriteResult> {
    return this.commit(
      namespace,
      () => {
        const target = findRollbackTarget(namespace, this.#history.get(namespace) ?? [], toVersion);
        return { op: "rollback", dtab: target.dtab, restoredVersion: toVersion, expectedVersion };
      },
      ctx,
    );
  }

  async history(namespace: string, limit?: number): Promise<readonly HistoryEntry[]> {
    return limited(this.#history.get(namespace) ?? [], limit);
  }

  async audit(namespace: string, limit?: number): Promise<readonly AuditEntry[]> {
    return limited(this.#audit.get(namespace) ?? [], limit);
  }

  health(): StoreHealth {
    const where = this.#file === undefined ? "in memory only" : `persisted to ${this.#file}`;
    return { writable: !this.#closed, synced: true, detail: this.#closed ? "closed" : `embedded store, ${where}` };
  }

  onHealth(_listener: (health: StoreHealth) => void): Unsubscribe {
    // Health changes only on close, and nobody asks a closed store anything.
    return () => undefined;
  }

  /** Lets queued writes finish; later writes fail with NAMER_ERR_SHUTTING_DOWN. Reads keep answering. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail;
  }

  /** `request` may be a function so a rollback looks its target up inside the queue, against the history it will change. */
  protected override commit(namespace: string, request: WriteRequest | (() => WriteRequest), ctx: WriteContext | undefined): Promise<WriteResult> {
    if (this.#closed) return Promise.reject(new NamerError("NAMER_ERR_SHUTTING_DOWN", "the dtab store is closed"));
    const author = authorOf(ctx);
    const run = async (): Promise<WriteResult> => {
      const req = typeof request === "function" ? request() : request;
      const plan = planWrite(namespace, this.state.state(namespace), req, author, this.#now().toISOString());
      await this.#apply([plan]);
      return { namespace, version: plan.state.version };
    };
    const result = this.#tail.then(run);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Persists first, then makes the writes visible: a write that could not be saved never happened. */
  async #apply(plans: readonly WritePlan[]): Promise<void> {
    const history = new Map(this.#history);
    const audit = new Map(this.#audit);
    for (const { state, history: h, audit: a } of plans) {
      history.set(state.namespace, [h, ...(history.get(state.namespace) ?? [])].slice(0, this.#historySize));
      audit.set(state.namespace, [a, ...(audit.get(state.namespace) ?? [])].slice(0, this.#auditSize));
    }
    if (this.#file !== undefined) {
      const states = new Map(this.state.states().map((s) => [s.namespace, s]));
      for (const { state } of plans) states.set(state.namespace, state);
      await this.#save(this.#file, { states: [...states.values()], history, audit });
    }
    for (const [namespace, entries] of history) this.#history.set(namespace, entries);
    for (const [namespace, entries] of audit) this.#audit.set(namespace, entries);
    for (const { state } of plans) this.state.apply(state);
  }

  async #save(
    file: string,
    data: { states: readonly NamespaceState[]; history: ReadonlyMap<string, readonly HistoryEntry[]>; audit: ReadonlyMap<string, readonly AuditEntry[]> },
  ): Promise<void> {
    const doc: Persisted = {
      format: "meshd-dtabs",
      formatVersion: 1,
      namespaces: Object.fromEntries(
        [...data.states]
          .sort((a, b) => (a.namespace < b.namespace ? -1 : 1))
          .map((s) => [s.namespace, { version: s.version, updatedAt: s.updatedAt, dtab: s.dtab?.show ?? null }]),
      ),
      history: Object.fromEntries([...data.history].map(([ns, entries]) => [ns, [...entries]])),
      audit: Object.fromEntries([...data.audit].map(([ns, entries]) => [ns, [...entries]])),
    };
    try {
      await writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`);
    } catch (e) {
      throw new NamerError("NAMER_ERR_STORE_UNAVAILABLE", `cannot save the dtab store to ${file}: ${(e as Error).message}`, {
        cause: e,
        details: { file },
      });
    }
  }

  async #load(seed: Readonly<Record<string, string>>): Promise<void> {
    const file = this.#file;
    if (file !== undefined) {
      await mkdir(dirname(file), { recursive: true });
      await this.#removeLeftovers(file);
      let text: string | undefined;
      try {
        text = await readFile(file, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
          throw new NamerError("NAMER_ERR_STORE_UNAVAILABLE", `cannot read the dtab store file ${file}: ${(e as Error).message}`, {
            cause: e,
            details: { file },
          });
        }
      }
      if (text !== undefined) {
        this.#restore(file, text);
        return;
      }
    }
    const names = Object.keys(seed);
    if (names.length === 0) return;
    const at = this.#now().toISOString();
    const plans = names
      .sort()
      .map((namespace) => {
        const text = seed[namespace] ?? "";
        let dtab: Dtab;
        try {
          dtab = Dtab.read(text);
        } catch (e) {
          throw new NamerError("NAMER_ERR_INVALID_DTAB", `the initial dtab of namespace "${namespace}" does not parse: ${(e as Error).message}`, {
            cause: e,
            details: { namespace },
          });
        }
        return planWrite(namespace, undefined, { op: "create", dtab }, SEED_AUTHOR, at);
      });
    await this.#apply(plans);
  }

  /** Loads a persisted file; anything unreadable is an error naming the file, never silently replaced. */
  #restore(file: string, text: string): void {
    const corrupt = (why: string, cause?: unknown): NamerError =>
      new NamerError(
        "NAMER_ERR_STORE_UNAVAILABLE",
        `the dtab store file ${file} is corrupt (${why}); repair or remove it — it is never replaced automatically`,
        { cause, details: { file } },
      );
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw corrupt(`not JSON: ${(e as Error).message}`, e);
    }
    const parsed = persistedSchema.safeParse(raw);
    if (!parsed.success) throw corrupt(z.prettifyError(parsed.error).replaceAll("\n", " "));
    const doc = parsed.data;
    const states: NamespaceState[] = [];
    for (const [namespace, s] of Object.entries(doc.namespaces)) {
      try {
        states.push(stateFrom({ namespace, version: s.version, updatedAt: s.updatedAt, dtab: s.dtab ?? undefined }));
      } catch (e) {
        throw corrupt((e as Error).message, e);
      }
    }
    for (const [namespace, entries] of Object.entries(doc.history)) this.#history.set(namespace, entries.slice(0, this.#historySize));
    for (const [namespace, entries] of Object.entries(doc.audit)) this.#audit.set(namespace, entries.slice(0, this.#auditSize));
    for (const state of states) this.state.apply(state);
    this.#logger.info({ file, namespaces: this.state.list().length }, "dtab store loaded");
  }

  /** Temp files of a save interrupted by a crash; the real file is intact (rename is atomic), so they are garbage. */
  async #removeLeftovers(file: string): Promise<void> {
    const dir = dirname(file);
    const prefix = `.${basename(file)}.`;
    for (const name of await readdir(dir)) {
      if (name.startsWith(prefix) && name.endsWith(".tmp")) {
        this.#logger.warn({ file: join(dir, name) }, "removing a temp file left by an interrupted save");
        await rm(join(dir, name), { force: true });
      }
    }
  }
}

/**
 * Replaces `file` so that readers and crashes see either the old or the new
 * content, never a mix: write a temp file in the same directory (same file
 * system, so rename is atomic), fsync it, rename it over, fsync the directory
 * so the rename itself is durable.
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomUUID()}.tmp`);
  try {
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(content, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  const dirHandle = await open(dir, "r");
  try {
    await dirHandle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the data file itself is already synced.
  } finally {
    await dirHandle.close();
  }
}
