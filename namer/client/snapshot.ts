// The remote interpreter's memory of last good bindings: kept in memory for
// every name bound since start (so a name evicted while idle still routes
// during a namer outage) and, with a state directory, written to a file
// atomically and read back at start, so a router restarted while the namer is
// down still routes the names it knew (DESIGN §5).
import { readFileSync } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Dtab, Path } from "../../dtab/index.ts";
import type { Logger } from "../../lib/log.ts";
import type { Binding } from "../interpreter/interpreter.ts";
import { bindingJson } from "../interpreter/json.ts";
import { decodeBinding } from "../wire/bind-json.ts";

/** What identifies the file's content; a file of another format or version is ignored. */
export const SNAPSHOT_FORMAT = "meshd.namerd-http.bindings";
export const SNAPSHOT_VERSION = 1;

/** One binding in the file: the bound tree in the bind API's own JSON, so one decoder checks both. */
export interface SnapshotEntryJson {
  readonly path: string;
  /** The local dtab sent with the bind ("" for none). */
  readonly dtab: string;
  readonly tree: unknown;
}

export interface SnapshotFileJson {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: typeof SNAPSHOT_VERSION;
  readonly namespace: string;
  readonly savedAt: string;
  readonly bindings: readonly SnapshotEntryJson[];
}

let tmpCounter = 0;

/** The file a namespace's snapshot lives in. */
export function snapshotFile(stateDir: string, namespace: string): string {
  return join(stateDir, `namerd-http.${encodeURIComponent(namespace)}.json`);
}

/** The cache key of a (path, local dtab) pair. */
export function bindingCacheKey(path: Path, local: Dtab): string {
  return `${path.show}\n${local.show}`;
}

interface Entry {
  readonly path: Path;
  readonly local: Dtab;
  readonly binding: Binding & { readonly type: "ok" };
}

export interface SnapshotOptions {
  readonly namespace: string;
  readonly logger: Logger;
  /** Without it the snapshot lives in memory only. */
  readonly file?: string | undefined;
  /** Changes within this window are written together (ms). */
  readonly debounceMs: number;
  /** Bindings remembered; the least recently used go first. */
  readonly maxEntries: number;
}

export class BindingSnapshot {
  readonly #options: SnapshotOptions;
  /** In least-recently-used-first order. */
  readonly #entries = new Map<string, Entry>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #dirty = false;
  #writes = 0;

  constructor(options: SnapshotOptions) {
    this.#options = options;
    if (options.file !== undefined) this.#load(options.file);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Completed file writes (for tests and metrics). */
  get writes(): number {
    return this.#writes;
  }

  /** The last good binding of a key, if one is known; marks it recently used. */
  get(key: string): Binding | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.binding;
  }

  /** Remembers a good binding and schedules a write when it changed. */
  put(path: Path, local: Dtab, binding: Binding & { readonly type: "ok" }): void {
    const key = bindingCacheKey(path, local);
    const before = this.#entries.get(key);
    this.#entries.delete(key);
    this.#entries.set(key, { path, local, binding });
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    if (before !== undefined && JSON.stringify(entryJson(before)) === JSON.stringify(entryJson({ path, local, binding }))) return;
    this.#schedule();
  }

  /** Writes now if anything changed since the last write. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#writing !== undefined) await this.#writing;
    if (!this.#dirty || this.#options.file === undefined) return;
    this.#writing = this.#write(this.#options.file).finally(() => (this.#writing = undefined));
    await this.#writing;
  }

  #schedule(): void {
    if (this.#options.file === undefined) return;
    this.#dirty = true;
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#options.debounceMs);
    this.#timer.unref();
  }

  async #write(file: string): Promise<void> {
    this.#dirty = false;
    const doc: SnapshotFileJson = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      namespace: this.#options.namespace,
      savedAt: new Date().toISOString(),
      bindings: [...this.#entries.values()].map(entryJson),
    };
    // Written aside, flushed to disk, then renamed over the old file: a crash leaves the old or the new file, never half of one.
    const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
    try {
      await mkdir(join(file, ".."), { recursive: true });
      const handle = await open(tmp, "w", 0o600);
      try {
        await handle.writeFile(JSON.stringify(doc, null, 1) + "\n");
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, file);
      this.#writes++;
    } catch (e) {
      this.#dirty = true;
      this.#options.logger.error({ err: e, file }, "could not write the bindings snapshot; will try again on the next change");
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  #load(file: string): void {
    const log = this.#options.logger.child({ file });
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") log.warn({ err: e }, "cannot read the bindings snapshot; starting without it");
      return;
    }
    let doc: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
      doc = parsed as Record<string, unknown>;
      if (doc["format"] !== SNAPSHOT_FORMAT || doc["version"] !== SNAPSHOT_VERSION) throw new Error(`not a ${SNAPSHOT_FORMAT} v${SNAPSHOT_VERSION} file`);
      if (doc["namespace"] !== this.#options.namespace) throw new Error(`it holds namespace ${JSON.stringify(doc["namespace"])}, not ${JSON.stringify(this.#options.namespace)}`);
      if (!Array.isArray(doc["bindings"])) throw new Error("it has no bindings list");
    } catch (e) {
      log.warn({ err: e }, "ignoring a corrupt bindings snapshot; it will be replaced once the namer answers");
      return;
    }
    let skipped = 0;
    for (const raw of doc["bindings"] as unknown[]) {
      try {
        const e = raw as Partial<SnapshotEntryJson>;
        if (typeof e !== "object" || e === null || typeof e.path !== "string" || typeof e.dtab !== "string") throw new Error("an entry needs path and dtab strings");
        const path = Path.read(e.path);
        const local = e.dtab === "" ? Dtab.empty : Dtab.read(e.dtab);
        const binding = decodeBinding(e.tree);
        if (binding.type !== "ok") throw new Error("an entry holds no bound tree");
        this.#entries.set(bindingCacheKey(path, local), { path, local, binding });
      } catch (err) {
        skipped++;
        if (skipped === 1) log.warn({ err }, "skipping an invalid entry of the bindings snapshot");
      }
    }
    while (this.#entries.size > this.#options.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
    }
    log.info({ bindings: this.#entries.size, skipped }, "loaded the last good bindings snapshot");
  }
}

function entryJson(e: Entry): SnapshotEntryJson {
  return { path: e.path.show, dtab: e.local.show, tree: bindingJson(e.path, e.binding) };
}
