// io.l5d.fs: service discovery from a directory, one file per service
// (`host port [* weight]` lines), for static fleets and for tools that write
// endpoint files. Edits reach subscribers in about a tenth of a second (the
// settle period), and a half-written or broken file never replaces a known
// address set.

import { type FSWatcher, watch } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Path } from "../../dtab/index.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { errorText } from "../errors.ts";
import type { FsNamerConfig } from "./config.ts";
import { address, boundAddr, isHost, mountPath, ServiceAnswers, ServiceCell } from "./service-namer.ts";
import type { Addr, Address, DiscoveryNamer, NamerAnswer, Watchable } from "./types.ts";
import { Cell, SharedWatches } from "./watchable.ts";

export interface FsNamerOptions {
  readonly logger?: Logger | undefined;
  /**
   * A changed file must read the same for this long before it is believed
   * (ms, default 100), so a file caught mid-write (truncated, half a line,
   * or briefly missing during an editor's rename dance) is not published.
   */
  readonly settleMs?: number | undefined;
  /** Every this often the observed files are re-read whatever the watcher said (ms, default 2000). */
  readonly rescanIntervalMs?: number | undefined;
  /** Clock for the settle rule (ms; tests may inject one). */
  readonly now?: (() => number) | undefined;
}

export const DEFAULT_FS_SETTLE_MS = 100;
export const DEFAULT_FS_RESCAN_INTERVAL_MS = 2000;
/** Watch events come in bursts (an editor's save is several); one re-read serves the burst. */
const EVENT_COALESCE_MS = 10;

/** A parsed service file, or where it first goes wrong (1-based line). */
export type FsParseResult =
  | { readonly ok: true; readonly addrs: readonly Address[] }
  | { readonly ok: false; readonly line: number; readonly message: string };

/**
 * Parses an io.l5d.fs file: per line `host port` or `host port * weight`,
 * blank lines and `#` comments allowed, IPv6 hosts bare or in brackets. An
 * empty file is a service with no endpoints (Finagle's rule, no fallback).
 */
export function parseFsAddresses(text: string): FsParseResult {
  const addrs: Address[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const hash = (lines[i] ?? "").indexOf("#");
    const line = (hash < 0 ? (lines[i] ?? "") : (lines[i] ?? "").slice(0, hash)).trim();
    if (line === "") continue;
    const fail = (message: string): FsParseResult => ({ ok: false, line: i + 1, message: `${message}: "${line}"` });
    const tokens = line.split(/\s+/);
    if (tokens.length !== 2 && tokens.length !== 4) return fail("expected `host port` or `host port * weight`");
    const [rawHost = "", rawPort = "", star, rawWeight] = tokens;
    const host = rawHost.startsWith("[") && rawHost.endsWith("]") ? rawHost.slice(1, -1) : rawHost;
    if (!isHost(host)) return fail(`invalid host "${rawHost}"`);
    if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) < 1 || Number(rawPort) > 65535) return fail(`invalid port "${rawPort}" (1–65535)`);
    let weight: number | undefined;
    if (tokens.length === 4) {
      if (star !== "*") return fail("expected `*` before the weight");
      weight = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(rawWeight ?? "") ? Number(rawWeight) : Number.NaN;
      if (!Number.isFinite(weight) || weight <= 0) return fail(`invalid weight "${rawWeight}" (a positive number)`);
    }
    addrs.push(address(host, Number(rawPort), { weight }));
  }
  return { ok: true, addrs };
}

/** A file name that can be a service: not hidden (editor swap files, `..data`), no path separators. */
function serviceFile(name: string): boolean {
  return name.length > 0 && !name.startsWith(".") && !name.includes("/") && !name.includes("\0");
}

/** Editor backups are not services to enumerate (they can still be observed by name). */
function listedFile(name: string): boolean {
  return serviceFile(name) && !name.endsWith("~");
}

interface WatchedFile {
  readonly name: string;
  readonly path: string;
  readonly cell: ServiceCell;
  /** The content the current state was decided from (null: the file was missing); undefined before the first read. */
  decided: string | null | undefined;
  /** A content different from `decided`, and when it was first read: believed once it has held for settleMs. */
  candidate: { readonly content: string | null; readonly since: number } | undefined;
  reading: boolean;
  /** Another read was asked for while one was running. */
  again: boolean;
  settleTimer: NodeJS.Timeout | undefined;
  closed: boolean;
}

export class FsNamer implements DiscoveryNamer {
  readonly kind = "io.l5d.fs";
  readonly prefix: Path;
  readonly rootDir: string;
  readonly #logger: Logger;
  readonly #settleMs: number;
  readonly #rescanIntervalMs: number;
  readonly #now: () => number;
  readonly #answers: ServiceAnswers;
  readonly #files = new Map<string, WatchedFile>();
  readonly #names = new SharedWatches<readonly Path[]>();
  #namesCell: Cell<readonly Path[]> | undefined;
  #namesReading = false;
  #namesAgain = false;
  /** The listing error last logged, so an unreadable rootDir is reported once, not every rescan. */
  #namesError: string | undefined;
  #watcher: FSWatcher | undefined;
  /** The directory the watcher was set on (inode), to notice rootDir being replaced. */
  #watchedIno: number | undefined;
  #watchFailureLogged = false;
  #rescanTimer: NodeJS.Timeout | undefined;
  #eventTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(config: Pick<FsNamerConfig, "prefix" | "rootDir">, options: FsNamerOptions = {}) {
    this.prefix = mountPath(config.prefix);
    this.rootDir = config.rootDir;
    this.#logger = (options.logger ?? silentLogger).child({ namer: this.kind, prefix: this.prefix.show });
    this.#settleMs = options.settleMs ?? DEFAULT_FS_SETTLE_MS;
    this.#rescanIntervalMs = options.rescanIntervalMs ?? DEFAULT_FS_RESCAN_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
    this.#answers = new ServiceAnswers({
      prefix: this.prefix,
      logger: this.#logger,
      split: (residual) => {
        const name = residual.segments[0];
        return name !== undefined && serviceFile(name) ? { key: name, consumed: 1 } : undefined;
      },
      open: (name) => this.#openFile(name),
    });
  }

  observe(residual: Path): Watchable<NamerAnswer> {
    return this.#answers.observe(residual);
  }

  /** The services watched right now (one underlying watch each, however many observers): diagnostics and tests. */
  observed(): readonly string[] {
    return this.#answers.observed();
  }

  /** Whether rootDir is being watched (only while something is observed). */
  get watchingDirectory(): boolean {
    return this.#watcher !== undefined || this.#rescanTimer !== undefined;
  }

  /** The service files in rootDir as full ids, sorted; empty until the first listing. */
  names(): Watchable<readonly Path[]> {
    return this.#names.observe("", () => {
      const cell = new Cell<readonly Path[]>([], {
        logger: this.#logger,
        onClose: () => {
          this.#namesCell = undefined;
          this.#watchIfNeeded();
        },
      });
      if (this.#closed) {
        cell.close();
        return cell;
      }
      this.#namesCell = cell;
      this.#watchIfNeeded();
      void this.#readNames();
      return cell;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#answers.close();
    this.#names.closeAll();
    this.#stopWatching();
  }

  // -------------------------------------------------------------------------
  // One observed file.

  #openFile(name: string): Watchable<Addr> {
    const file: WatchedFile = {
      name,
      path: join(this.rootDir, name),
      cell: new ServiceCell(this.#logger, { file: join(this.rootDir, name) }, () => {
        file.closed = true;
        clearTimeout(file.settleTimer);
        if (this.#files.get(name) === file) this.#files.delete(name);
        this.#watchIfNeeded();
      }),
      decided: undefined,
      candidate: undefined,
      reading: false,
      again: false,
      settleTimer: undefined,
      closed: false,
    };
    this.#files.set(name, file);
    this.#watchIfNeeded();
    void this.#read(file);
    return file.cell;
  }

  /** Reads a file; reads of one file never overlap, and a read asked for meanwhile runs after. */
  async #read(file: WatchedFile): Promise<void> {
    if (file.reading) {
      file.again = true;
      return;
    }
    file.reading = true;
    try {
      do {
        file.again = false;
        await this.#readOnce(file);
      } while (file.again && !file.closed);
    } finally {
      file.reading = false;
    }
  }

  async #readOnce(file: WatchedFile): Promise<void> {
    let content: string | null;
    try {
      content = await readFile(file.path, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (file.closed) return;
      if (code === "ENOENT" || code === "EISDIR") {
        // A missing file is an answer (neg); a missing rootDir (an unmounted
        // volume, a config mistake) is an outage that must not unbind everything.
        const root = await this.#rootProblem();
        if (file.closed) return;
        if (root !== undefined) {
          file.cell.fail(root);
          return;
        }
        content = null;
      } else {
        file.cell.fail(`cannot read ${file.path}: ${errorText(e)}`);
        return;
      }
    }
    if (file.closed) return;
    this.#consider(file, content);
  }

  /** The settle rule: the first read is believed at once, a change only once it has held for settleMs. */
  #consider(file: WatchedFile, content: string | null): void {
    if (content === file.decided) {
      file.candidate = undefined;
      // Readable again after an outage (rootDir back): the same decision, and the failure is over.
      if (file.cell.failing) this.#decide(file, content);
      return;
    }
    const now = this.#now();
    if (file.decided !== undefined) {
      const candidate = file.candidate;
      if (candidate === undefined || candidate.content !== content) {
        file.candidate = { content, since: now };
        this.#settleLater(file, this.#settleMs);
        return;
      }
      const left = candidate.since + this.#settleMs - now;
      if (left > 0) {
        this.#settleLater(file, left);
        return;
      }
    }
    file.candidate = undefined;
    file.decided = content;
    this.#decide(file, content);
  }

  #settleLater(file: WatchedFile, delayMs: number): void {
    clearTimeout(file.settleTimer);
    file.settleTimer = setTimeout(() => void this.#read(file), delayMs);
    file.settleTimer.unref();
  }

  #decide(file: WatchedFile, content: string | null): void {
    if (content === null) {
      if (file.cell.current().type !== "neg") this.#logger.info({ file: file.path }, "service file is gone; the name is neg");
      file.cell.answer({ type: "neg" });
      return;
    }
    const parsed = parseFsAddresses(content);
    if (!parsed.ok) {
      // Logged (with the file and line) by fail(); a good answer stays.
      file.cell.fail(`${file.path} line ${parsed.line}: ${parsed.message}`, { line: parsed.line });
      return;
    }
    file.cell.answer(boundAddr(parsed.addrs));
  }

  /** Why files cannot be answered for when rootDir itself is missing or not a directory. */
  async #rootProblem(): Promise<string | undefined> {
    try {
      const s = await stat(this.rootDir);
      return s.isDirectory() ? undefined : `rootDir ${this.rootDir} is not a directory`;
    } catch (e) {
      return `rootDir ${this.rootDir} cannot be read: ${errorText(e)}`;
    }
  }

  // -------------------------------------------------------------------------
  // The directory listing (names()).

  async #readNames(): Promise<void> {
    if (this.#namesReading) {
      this.#namesAgain = true;
      return;
    }
    this.#namesReading = true;
    try {
      do {
        this.#namesAgain = false;
        await this.#readNamesOnce();
      } while (this.#namesAgain && this.#namesCell !== undefined);
    } finally {
      this.#namesReading = false;
    }
  }

  async #readNamesOnce(): Promise<void> {
    let names: string[];
    try {
      const entries = await readdir(this.rootDir, { withFileTypes: true });
      const files = await Promise.all(
        entries
          .filter((e) => listedFile(e.name))
          .map(async (e) => {
            if (e.isFile()) return e.name;
            // A symlink (Kubernetes ConfigMap volumes are all symlinks) counts when it leads to a file.
            if (!e.isSymbolicLink()) return undefined;
            const target = await stat(join(this.rootDir, e.name)).catch(() => undefined);
            return target?.isFile() === true ? e.name : undefined;
          }),
      );
      names = files.filter((n): n is string => n !== undefined).sort();
    } catch (e) {
      // The last listing stays: an unreadable directory is an outage, not an empty one.
      const err = errorText(e);
      if (err !== this.#namesError) this.#logger.warn({ rootDir: this.rootDir, err }, "cannot list rootDir; keeping the last listing");
      this.#namesError = err;
      return;
    }
    this.#namesError = undefined;
    this.#namesCell?.set(names.map((n) => this.prefix.concat(Path.of(n))));
  }

  // -------------------------------------------------------------------------
  // Watching rootDir: only while something is observed.

  #watchIfNeeded(): void {
    const needed = !this.#closed && (this.#files.size > 0 || this.#namesCell !== undefined);
    if (!needed) {
      this.#stopWatching();
      return;
    }
    if (this.#rescanTimer === undefined) {
      this.#rescanTimer = setInterval(() => void this.#rescan(), this.#rescanIntervalMs);
      this.#rescanTimer.unref();
    }
    if (this.#watcher === undefined) this.#startWatcher();
  }

  #startWatcher(): void {
    let watcher: FSWatcher;
    try {
      // Watch the directory, not the files: an editor that saves by writing a
      // new file and renaming it over the old one leaves a file watch on a dead inode.
      watcher = watch(this.rootDir, { persistent: false }, () => this.#changed());
    } catch (e) {
      if (!this.#watchFailureLogged) {
        this.#watchFailureLogged = true;
        this.#logger.warn({ rootDir: this.rootDir, err: errorText(e) }, "cannot watch rootDir; re-reading it on the rescan interval");
      }
      return;
    }
    this.#watchFailureLogged = false;
    watcher.on("error", (e: Error) => {
      this.#logger.warn({ rootDir: this.rootDir, err: errorText(e) }, "watching rootDir failed; watching it again on the next rescan");
      if (this.#watcher === watcher) this.#watcher = undefined;
      watcher.close();
      this.#changed();
    });
    this.#watcher = watcher;
    void stat(this.rootDir).then(
      (s) => {
        if (this.#watcher === watcher) this.#watchedIno = s.ino;
      },
      () => undefined,
    );
  }

  #stopWatching(): void {
    clearInterval(this.#rescanTimer);
    clearTimeout(this.#eventTimer);
    this.#rescanTimer = undefined;
    this.#eventTimer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#watchedIno = undefined;
  }

  #changed(): void {
    if (this.#eventTimer !== undefined || this.#closed) return;
    this.#eventTimer = setTimeout(() => {
      this.#eventTimer = undefined;
      this.#refreshAll();
    }, EVENT_COALESCE_MS);
    this.#eventTimer.unref();
  }

  #refreshAll(): void {
    for (const file of this.#files.values()) void this.#read(file);
    if (this.#namesCell !== undefined) void this.#readNames();
  }

  /** The safety net: events can be lost (overflowing inotify queues, network file systems, a replaced rootDir). */
  async #rescan(): Promise<void> {
    if (this.#closed) return;
    const ino = await stat(this.rootDir).then(
      (s) => s.ino,
      () => undefined,
    );
    if (this.#watcher !== undefined && this.#watchedIno !== undefined && ino !== this.#watchedIno) {
      // rootDir was deleted or replaced: the watch is on the old directory.
      this.#watcher.close();
      this.#watcher = undefined;
    }
    if (this.#watcher === undefined && !this.#closed && (this.#files.size > 0 || this.#namesCell !== undefined)) this.#startWatcher();
    this.#refreshAll();
  }
}

/** Builds an io.l5d.fs namer from its config. */
export function createFsNamer(config: FsNamerConfig, options: FsNamerOptions = {}): FsNamer {
  return new FsNamer(config, options);
}
