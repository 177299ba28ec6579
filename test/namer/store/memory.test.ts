// The embedded store: the DtabStore contract in memory and persisted to a
// data directory, plus what persistence promises — a restart keeps dtabs,
// versions, history and audit; a corrupt file is an error naming it; saves
// are atomic (temp file, fsync, rename) and a failed save changes nothing.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Dtab } from "../../../dtab/index.ts";
import { NamerError } from "../../../namer/errors.ts";
import { DATA_FILE, MemoryDtabStore } from "../../../namer/store/index.ts";
import { dtabStoreContract } from "./contract.ts";

const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "meshd-store-"));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

dtabStoreContract("MemoryDtabStore", {
  open: (options) => MemoryDtabStore.open(options),
  settle: async () => undefined,
});

dtabStoreContract("MemoryDtabStore with a dataDir", {
  open: async (options) => MemoryDtabStore.open({ ...options, dataDir: await dataDir() }),
  settle: async () => undefined,
});

describe("MemoryDtabStore persistence", () => {
  const open: MemoryDtabStore[] = [];
  const opened = async (options: Parameters<typeof MemoryDtabStore.open>[0]): Promise<MemoryDtabStore> => {
    const store = await MemoryDtabStore.open(options);
    open.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it("restarts from dataDir with the same dtabs, versions, history, audit and version counters", async () => {
    const dir = await dataDir();
    const first = await opened({ dataDir: dir });
    await first.create("default", Dtab.read("/svc=>/a"), { actor: "alice", source: "10.0.0.1" });
    await first.update("default", Dtab.read("/svc=>/b"), "1");
    await first.create("gone", Dtab.read("/x=>/y"));
    await first.delete("gone");
    await first.close();

    const second = await opened({ dataDir: dir, namespaces: { ignored: "/a=>/b" } });
    expect(await second.list()).toEqual(["default"]);
    const got = await second.get("default");
    expect(got?.version).toBe("2");
    expect(got?.dtab.show).toBe("/svc=>/b");
    expect(await second.history("default")).toEqual(await first.history("default"));
    expect(await second.audit("default")).toEqual(await first.audit("default"));
    expect((await second.history("gone")).map((h) => h.action)).toEqual(["delete", "create"]);
    // The deleted namespace's counter survived the restart.
    expect(await second.create("gone", Dtab.read("/x=>/z"))).toMatchObject({ version: "3" });
    expect(await second.rollback("default", "1")).toMatchObject({ version: "3" });
    expect((await second.get("default"))?.dtab.show).toBe("/svc=>/a");
  });

  it("seeds `namespaces` only when there is no persisted data, and persists the seed", async () => {
    const dir = await dataDir();
    const first = await opened({ dataDir: dir, namespaces: { default: "/svc=>/#/io.l5d.fs", web: "" } });
    expect(await first.list()).toEqual(["default", "web"]);
    expect((await first.get("default"))?.version).toBe("1");
    expect((await first.history("default"))[0]).toMatchObject({ action: "create", actor: "meshd", source: "config" });
    await first.put("default", Dtab.read("/svc=>/changed"));
    await first.close();
    const second = await opened({ dataDir: dir, namespaces: { default: "/svc=>/seed-again", other: "/a=>/b" } });
    expect(await second.list()).toEqual(["default", "web"]);
    expect((await second.get("default"))?.dtab.show).toBe("/svc=>/changed");
  });

  it("refuses a seed dtab that does not parse, naming the namespace", async () => {
    const error = await MemoryDtabStore.open({ namespaces: { broken: "/svc => " } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NamerError);
    expect(error).toMatchObject({ code: "NAMER_ERR_INVALID_DTAB" });
    expect((error as Error).message).toContain('"broken"');
  });

  it("fails to open on a corrupt file with an error naming it, and leaves the file alone", async () => {
    const cases: [string, string][] = [
      ["truncated JSON", '{"format": "meshd-dtabs", "namespa'],
      ["wrong shape", JSON.stringify({ format: "meshd-dtabs", formatVersion: 1, namespaces: { a: { version: 1 } }, history: {}, audit: {} })],
      ["bad version", JSON.stringify({ format: "meshd-dtabs", formatVersion: 1, namespaces: { a: { version: "x", updatedAt: "t", dtab: "" } }, history: {}, audit: {} })],
      ["dtab that does not parse", JSON.stringify({ format: "meshd-dtabs", formatVersion: 1, namespaces: { a: { version: "1", updatedAt: "t", dtab: "/a=>" } }, history: {}, audit: {} })],
      ["another format", JSON.stringify({ format: "something-else" })],
    ];
    for (const [what, content] of cases) {
      const dir = await dataDir();
      const file = join(dir, DATA_FILE);
      await writeFile(file, content);
      const error = await MemoryDtabStore.open({ dataDir: dir, namespaces: { default: "/a=>/b" } }).catch((e: unknown) => e);
      expect(error, what).toBeInstanceOf(NamerError);
      expect(error, what).toMatchObject({ code: "NAMER_ERR_STORE_UNAVAILABLE", details: { file } });
      expect((error as Error).message, what).toContain(file);
      expect((error as Error).message, what).toContain("corrupt");
      expect(await readFile(file, "utf8"), what).toBe(content);
    }
  });

  it("never lets a reader see a partial file: every read during 60 writes parses, versions only grow", async () => {
    const dir = await dataDir();
    const file = join(dir, DATA_FILE);
    const store = await opened({ dataDir: dir });
    await store.create("default", Dtab.read("/v=>/0"));
    let writing = true;
    const versions: number[] = [];
    const reader = (async () => {
      while (writing) {
        const doc = JSON.parse(await readFile(file, "utf8")) as { namespaces: { default: { version: string; dtab: string } } };
        const { version, dtab } = doc.namespaces.default;
        expect(dtab).toBe(`/v=>/${Number(version) - 1}`);
        versions.push(Number(version));
      }
    })();
    for (let v = 1; v <= 60; v++) await store.update("default", Dtab.read(`/v=>/${v}`), String(v));
    writing = false;
    await reader;
    expect(versions.length).toBeGreaterThan(0);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(await readdir(dir)).toEqual([DATA_FILE]);
  });

  it("removes a temp file left by an interrupted save and loads the intact data file", async () => {
    const dir = await dataDir();
    const first = await opened({ dataDir: dir });
    await first.create("default", Dtab.read("/a=>/b"));
    await first.close();
    const leftover = join(dir, `.${DATA_FILE}.12345.0000-1111.tmp`);
    await writeFile(leftover, '{"format": "meshd-dtabs", "half a wri');
    const second = await opened({ dataDir: dir });
    expect((await second.get("default"))?.dtab.show).toBe("/a=>/b");
    expect(await readdir(dir)).toEqual([DATA_FILE]);
  });

  it("fails a write it cannot save with STORE_UNAVAILABLE, changes nothing and leaves no temp file", async () => {
    const dir = await dataDir();
    const file = join(dir, DATA_FILE);
    const store = await opened({ dataDir: dir });
    await store.create("default", Dtab.read("/a=>/b"));
    const seen: string[] = [];
    store.watch("default", (s) => seen.push(s?.version ?? "-"));
    // A non-empty directory where the data file should be: the rename fails.
    await rm(file);
    await mkdir(join(file, "blocker"), { recursive: true });
    await expect(store.update("default", Dtab.read("/a=>/c"), "1")).rejects.toMatchObject({
      code: "NAMER_ERR_STORE_UNAVAILABLE",
      details: { file },
    });
    expect((await store.get("default"))?.version).toBe("1");
    expect(await store.history("default")).toHaveLength(1);
    expect(seen).toEqual(["1"]);
    expect((await readdir(dir)).sort()).toEqual([DATA_FILE]);
    // Once the file can be written again, so can the store, continuing from version 1.
    await rm(file, { recursive: true });
    expect(await store.update("default", Dtab.read("/a=>/c"), "1")).toMatchObject({ version: "2" });
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({ namespaces: { default: { version: "2", dtab: "/a=>/c" } } });
  });

  it("serializes writes: concurrent creates of one name give exactly one winner", async () => {
    const store = await opened({ dataDir: await dataDir() });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.create("default", Dtab.read(`/a=>/${i}`))));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected").every((r) => (r.reason as NamerError).code === "NAMER_ERR_EXISTS")).toBe(true);
  });

  it("finishes queued writes on close, then refuses writes with NAMER_ERR_SHUTTING_DOWN but still answers reads", async () => {
    const store = await MemoryDtabStore.open({ namespaces: { default: "/a=>/b" }, dataDir: await dataDir() });
    const queued = [store.put("default", Dtab.read("/a=>/1")), store.put("default", Dtab.read("/a=>/2"))];
    await store.close();
    expect(await Promise.all(queued)).toEqual([
      { namespace: "default", version: "2" },
      { namespace: "default", version: "3" },
    ]);
    await expect(store.put("default", Dtab.read("/a=>/c"))).rejects.toMatchObject({ code: "NAMER_ERR_SHUTTING_DOWN" });
    expect((await store.get("default"))?.version).toBe("3");
    expect(store.health().writable).toBe(false);
  });

  it("rejects sizes that are not positive integers", async () => {
    await expect(MemoryDtabStore.open({ historySize: 0 })).rejects.toThrow(/historySize/);
    await expect(MemoryDtabStore.open({ auditSize: 1.5 })).rejects.toThrow(/auditSize/);
  });
});
