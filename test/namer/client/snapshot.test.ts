// The last-good bindings snapshot: written atomically and debounced, read back
// at start, and a corrupt or foreign file is logged and ignored, never fatal.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Dtab, NameTree, Path } from "../../../dtab/index.ts";
import { silentLogger } from "../../../lib/log.ts";
import { RemoteNameInterpreter, SNAPSHOT_FORMAT, snapshotFile, type SnapshotFileJson } from "../../../namer/client/index.ts";
import { BindingSnapshot, bindingCacheKey } from "../../../namer/client/snapshot.ts";
import type { Binding } from "../../../namer/interpreter/interpreter.ts";
import { captureLogger } from "./support/log.ts";

const p = Path.read;

function inet(port: number): Binding & { type: "ok" } {
  return {
    type: "ok",
    tree: NameTree.leaf({ id: p(`/$/inet/127.0.0.1/${port}`), residual: Path.empty, addr: { type: "bound", addrs: [{ host: "127.0.0.1", port, meta: { zone: "z" } }], meta: {} } }),
  };
}

function open(dir: string, options: Partial<{ namespace: string; debounceMs: number; maxEntries: number; logger: ReturnType<typeof captureLogger>["logger"] }> = {}) {
  const namespace = options.namespace ?? "default";
  return new BindingSnapshot({
    namespace,
    logger: options.logger ?? silentLogger,
    file: snapshotFile(dir, namespace),
    debounceMs: options.debounceMs ?? 20,
    maxEntries: options.maxEntries ?? 100,
  });
}

const tempDir = () => mkdtempSync(join(tmpdir(), "meshd-snapshot-"));

describe("BindingSnapshot", () => {
  it("writes good bindings keyed by path and local dtab, and a new instance reads them back", async () => {
    const dir = tempDir();
    const s = open(dir);
    const local = Dtab.read("/svc/users => /$/inet/127.0.0.1/2");
    s.put(p("/svc/users"), Dtab.empty, inet(1));
    s.put(p("/svc/users"), local, inet(2));
    await s.flush();
    const file = JSON.parse(readFileSync(snapshotFile(dir, "default"), "utf8")) as SnapshotFileJson;
    expect(file.format).toBe(SNAPSHOT_FORMAT);
    expect(file.version).toBe(1);
    expect(file.namespace).toBe("default");
    expect(file.bindings.map((b) => [b.path, b.dtab])).toEqual([
      ["/svc/users", ""],
      ["/svc/users", "/svc/users=>/$/inet/127.0.0.1/2"],
    ]);
    const again = open(dir);
    expect(again.size).toBe(2);
    expect(again.get(bindingCacheKey(p("/svc/users"), Dtab.empty))).toEqual(inet(1));
    expect(again.get(bindingCacheKey(p("/svc/users"), local))).toEqual(inet(2));
  });

  it("debounces: a burst of changes is one write; an unchanged binding is no write; no temp file is left", async () => {
    const dir = tempDir();
    const s = open(dir, { debounceMs: 50 });
    for (let i = 1; i <= 20; i++) s.put(p("/svc/a"), Dtab.empty, inet(i));
    await s.flush();
    expect(s.writes).toBe(1);
    s.put(p("/svc/a"), Dtab.empty, inet(20));
    await s.flush();
    expect(s.writes).toBe(1);
    expect(readdirSync(dir)).toEqual(["namerd-http.default.json"]);
  });

  it("remembers at most maxEntries bindings, dropping the least recently used", async () => {
    const dir = tempDir();
    const s = open(dir, { maxEntries: 2 });
    s.put(p("/svc/a"), Dtab.empty, inet(1));
    s.put(p("/svc/b"), Dtab.empty, inet(2));
    s.get(bindingCacheKey(p("/svc/a"), Dtab.empty));
    s.put(p("/svc/c"), Dtab.empty, inet(3));
    await s.flush();
    const again = open(dir);
    expect(again.get(bindingCacheKey(p("/svc/b"), Dtab.empty))).toBeUndefined();
    expect(again.get(bindingCacheKey(p("/svc/a"), Dtab.empty))).toEqual(inet(1));
    expect(again.get(bindingCacheKey(p("/svc/c"), Dtab.empty))).toEqual(inet(3));
  });

  const corrupt: [string, string][] = [
    ["not JSON", "{ this is not json"],
    ["truncated", '{"format":"meshd.namerd-http.bindings","version":1,"namespace":"default","bindings":[{"path":"/a"'],
    ["another format", JSON.stringify({ format: "something-else", version: 1, namespace: "default", bindings: [] })],
    ["a future version", JSON.stringify({ format: SNAPSHOT_FORMAT, version: 2, namespace: "default", bindings: [] })],
    ["another namespace", JSON.stringify({ format: SNAPSHOT_FORMAT, version: 1, namespace: "other", bindings: [] })],
    ["a JSON array", "[]"],
  ];
  for (const [what, text] of corrupt) {
    it(`logs and ignores a snapshot file that is ${what}`, () => {
      const dir = tempDir();
      writeFileSync(snapshotFile(dir, "default"), text);
      const log = captureLogger();
      const s = open(dir, { logger: log.logger });
      expect(s.size).toBe(0);
      expect(log.warnings().some((m) => m.includes("ignoring a corrupt bindings snapshot"))).toBe(true);
    });
  }

  it("skips invalid entries and keeps the valid ones", () => {
    const dir = tempDir();
    const good = { path: "/svc/a", dtab: "", tree: { type: "leaf", path: "/svc/a", bound: { id: "/$/inet/h/1", path: "/", addr: { type: "bound", addrs: [{ ip: "h", port: 1, meta: {} }], meta: {} } } } };
    const bindings = [good, { path: "/svc/b", dtab: "", tree: { type: "leaf" } }, { path: "nope", dtab: "", tree: good.tree }, { path: "/svc/c", dtab: "", tree: { type: "exception", message: "x" } }, 42];
    writeFileSync(snapshotFile(dir, "default"), JSON.stringify({ format: SNAPSHOT_FORMAT, version: 1, namespace: "default", savedAt: "", bindings }));
    const log = captureLogger();
    const s = open(dir, { logger: log.logger });
    expect(s.size).toBe(1);
    expect(s.get(bindingCacheKey(p("/svc/a"), Dtab.empty))?.type).toBe("ok");
    expect(log.records.find((r) => r.msg === "loaded the last good bindings snapshot")).toMatchObject({ bindings: 1, skipped: 4 });
  });

  it("a RemoteNameInterpreter with a corrupt snapshot starts, logs it, and binds as pending", async () => {
    const dir = tempDir();
    writeFileSync(snapshotFile(dir, "default"), "\u0000\u0001garbage");
    const log = captureLogger();
    const interpreter = new RemoteNameInterpreter({ baseUrl: "http://127.0.0.1:9", stateDir: dir, logger: log.logger, retry: { baseMs: 50, maxMs: 100 } });
    const live = interpreter.bind(p("/svc/a"));
    expect(live.current()).toEqual({ type: "pending" });
    live.close();
    await interpreter.close();
    expect(log.warnings()).toContain("ignoring a corrupt bindings snapshot; it will be replaced once the namer answers");
  });

  it("starts without a snapshot file, and creates the state directory on the first write", async () => {
    const dir = join(tempDir(), "nested", "state");
    const s = open(dir);
    expect(s.size).toBe(0);
    s.put(p("/svc/a"), Dtab.empty, inet(1));
    await s.flush();
    expect(existsSync(snapshotFile(dir, "default"))).toBe(true);
  });
});
