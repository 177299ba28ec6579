// The DtabStore contract (namer/store/types.ts) as one suite that every store
// runs: memory.test.ts and redis.test.ts call dtabStoreContract with a way
// to open a fresh, empty store.
import { afterEach, describe, expect, it } from "vitest";
import { Dentry, Dtab } from "../../../dtab/index.ts";
import { isNamerError } from "../../../namer/errors.ts";
import type { DtabStore, VersionedDtab } from "../../../namer/store/index.ts";

export interface ContractStoreOptions {
  readonly historySize?: number;
  readonly auditSize?: number;
  readonly now?: () => Date;
}

export interface ContractTarget {
  /** Opens a fresh, empty store, ready to read (synced). */
  open(options: ContractStoreOptions): Promise<DtabStore>;
  /**
   * Resolves once the store has received every change event it caused, so a
   * test can check that late echoes change nothing (memory: nothing to wait for).
   */
  settle(store: DtabStore): Promise<void>;
}

const A = "/svc=>/#/io.l5d.fs";
const B = "/svc=>/#/io.l5d.k8s/default/http";
const C = "/svc/users=>/$/inet/127.0.0.1/8080";

/** A clock that moves one second per reading, so every write has its own time. */
function tickingClock(start = Date.parse("2024-05-01T12:00:00.000Z")): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}

/** Watch calls as comparable values: "-" for absent, "version:dtab" otherwise. */
function seen(state: VersionedDtab | undefined): string {
  return state === undefined ? "-" : `${state.version}:${state.dtab.show}`;
}

export function dtabStoreContract(name: string, target: ContractTarget): void {
  describe(`${name}: the DtabStore contract`, () => {
    const opened: DtabStore[] = [];
    const open = async (options: ContractStoreOptions = {}): Promise<DtabStore> => {
      const store = await target.open({ now: tickingClock(), ...options });
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    describe("list and get", () => {
      it("starts empty, lists live namespaces sorted, and leaves deleted ones out", async () => {
        const store = await open();
        expect(await store.list()).toEqual([]);
        for (const ns of ["web", "default", "api.v2", "Zed"]) await store.create(ns, Dtab.read(A));
        expect(await store.list()).toEqual(["Zed", "api.v2", "default", "web"]);
        await store.delete("web");
        expect(await store.list()).toEqual(["Zed", "api.v2", "default"]);
      });

      it("gets a namespace's dtab, version and time, and undefined for an unknown one", async () => {
        const store = await open({ now: () => new Date("2024-05-01T12:00:00.000Z") });
        expect(await store.get("default")).toBeUndefined();
        await store.create("default", Dtab.read(A));
        const got = await store.get("default");
        expect(got?.namespace).toBe("default");
        expect(got?.version).toBe("1");
        expect(got?.updatedAt).toBe("2024-05-01T12:00:00.000Z");
        expect(got?.dtab.equals(Dtab.read(A))).toBe(true);
      });

      it("reports a health that is writable and synced once open", async () => {
        const store = await open();
        expect(store.health()).toMatchObject({ writable: true, synced: true });
        expect(store.health().detail).not.toBe("");
      });
    });

    describe("create", () => {
      it("creates at version 1 and refuses an existing name with NAMER_ERR_EXISTS", async () => {
        const store = await open();
        expect(await store.create("default", Dtab.read(A))).toEqual({ namespace: "default", version: "1" });
        await expect(store.create("default", Dtab.read(B))).rejects.toMatchObject({
          code: "NAMER_ERR_EXISTS",
          status: 409,
          details: { namespace: "default", currentVersion: "1" },
        });
        expect((await store.get("default"))?.dtab.show).toBe(Dtab.read(A).show);
      });

      it("stores the empty dtab as a real namespace", async () => {
        const store = await open();
        await store.create("empty", Dtab.empty);
        expect((await store.get("empty"))?.dtab.length).toBe(0);
        expect(await store.list()).toEqual(["empty"]);
      });
    });

    describe("update (compare-and-set)", () => {
      it("replaces the dtab when the expected version is current, and bumps the version", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        expect(await store.update("default", Dtab.read(B), "1")).toEqual({ namespace: "default", version: "2" });
        const got = await store.get("default");
        expect(got?.version).toBe("2");
        expect(got?.dtab.show).toBe(Dtab.read(B).show);
      });

      it("refuses a stale version with NAMER_ERR_VERSION_MISMATCH and changes nothing", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        await store.update("default", Dtab.read(B), "1");
        await expect(store.update("default", Dtab.read(C), "1")).rejects.toMatchObject({
          code: "NAMER_ERR_VERSION_MISMATCH",
          status: 412,
          details: { namespace: "default", expectedVersion: "1", currentVersion: "2" },
        });
        await expect(store.update("default", Dtab.read(C), "3")).rejects.toMatchObject({ code: "NAMER_ERR_VERSION_MISMATCH" });
        expect((await store.get("default"))?.version).toBe("2");
        expect((await store.get("default"))?.dtab.show).toBe(Dtab.read(B).show);
      });

      it('matches any existing version with "*"', async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        await store.update("default", Dtab.read(B), "*");
        expect(await store.update("default", Dtab.read(C), "*")).toEqual({ namespace: "default", version: "3" });
      });

      it("fails with NAMER_ERR_NOT_FOUND for a namespace that does not exist or was deleted", async () => {
        const store = await open();
        await expect(store.update("nope", Dtab.read(A), "1")).rejects.toMatchObject({ code: "NAMER_ERR_NOT_FOUND", status: 404 });
        await expect(store.update("nope", Dtab.read(A), "*")).rejects.toMatchObject({ code: "NAMER_ERR_NOT_FOUND" });
        await store.create("gone", Dtab.read(A));
        await store.delete("gone");
        await expect(store.update("gone", Dtab.read(A), "2")).rejects.toMatchObject({ code: "NAMER_ERR_NOT_FOUND" });
        expect(await store.list()).toEqual([]);
      });

      it("compares versions as integers past 9", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        for (let v = 1; v < 11; v++) await store.update("default", Dtab.read(`/n=>/v/${v}`), String(v));
        expect((await store.get("default"))?.version).toBe("11");
        await expect(store.update("default", Dtab.read(A), "9")).rejects.toMatchObject({ code: "NAMER_ERR_VERSION_MISMATCH" });
        expect(await store.update("default", Dtab.read(A), "11")).toMatchObject({ version: "12" });
      });
    });

    describe("put", () => {
      it("creates a missing namespace and replaces an existing one without a version", async () => {
        const store = await open();
        expect(await store.put("default", Dtab.read(A))).toEqual({ namespace: "default", version: "1" });
        expect(await store.put("default", Dtab.read(B))).toEqual({ namespace: "default", version: "2" });
        expect((await store.get("default"))?.dtab.show).toBe(Dtab.read(B).show);
        expect((await store.history("default")).map((h) => h.action)).toEqual(["update", "create"]);
      });
    });

    describe("delete", () => {
      it("deletes without a version, returns the delete's version, and then NOT_FOUND", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        expect(await store.delete("default")).toEqual({ namespace: "default", version: "2" });
        expect(await store.get("default")).toBeUndefined();
        await expect(store.delete("default")).rejects.toMatchObject({ code: "NAMER_ERR_NOT_FOUND" });
        await expect(store.delete("never-was")).rejects.toMatchObject({ code: "NAMER_ERR_NOT_FOUND" });
      });

      it("deletes with a version only when it is current", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        await store.update("default", Dtab.read(B), "1");
        await expect(store.delete("default", "1")).rejects.toMatchObject({
          code: "NAMER_ERR_VERSION_MISMATCH",
          details: { currentVersion: "2" },
        });
        expect((await store.get("default"))?.version).toBe("2");
        expect(await store.delete("default", "2")).toMatchObject({ version: "3" });
        await store.create("other", Dtab.read(A));
        expect(await store.delete("other", "*")).toMatchObject({ version: "2" });
      });

      it("keeps versions growing across delete and re-create", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        await store.update("default", Dtab.read(B), "1");
        await store.delete("default", "2");
        expect(await store.create("default", Dtab.read(C))).toEqual({ namespace: "default", version: "4" });
        expect(await store.put("default", Dtab.read(A))).toMatchObject({ version: "5" });
        await store.delete("default");
        expect(await store.put("default", Dtab.read(A))).toMatchObject({ version: "7" });
        const history = await store.history("default");
        expect(history.map((h) => [h.version, h.action, h.previousVersion])).toEqual([
          ["7", "create", undefined],
          ["6", "delete", "5"],
          ["5", "update", "4"],
          ["4", "create", undefined],
          ["3", "delete", "2"],
          ["2", "update", "1"],
          ["1", "create", undefined],
        ]);
      });
    });

    describe("history", () => {
      it("lists kept versions newest first with dtab, time, author and previous version", async () => {
        const store = await open({ now: tickingClock(Date.parse("2024-01-01T00:00:00.000Z")) });
        await store.create("default", Dtab.read(A), { actor: "alice", source: "10.0.0.1" });
        await store.update("default", Dtab.read(B), "1", { actor: "bob", source: "10.0.0.2" });
        await store.delete("default", "2");
        const history = await store.history("default");
        expect(history).toEqual([
          { version: "3", action: "delete", dtab: "", at: "2024-01-01T00:00:03.000Z", actor: "anonymous", source: "unknown", previousVersion: "2" },
          {
            version: "2",
            action: "update",
            dtab: Dtab.read(B).show,
            at: "2024-01-01T00:00:02.000Z",
            actor: "bob",
            source: "10.0.0.2",
            previousVersion: "1",
          },
          { version: "1", action: "create", dtab: Dtab.read(A).show, at: "2024-01-01T00:00:01.000Z", actor: "alice", source: "10.0.0.1" },
        ]);
        expect(await store.history("default", 2)).toEqual(history.slice(0, 2));
        expect(await store.history("default", 0)).toEqual([]);
        expect(await store.history("unknown")).toEqual([]);
      });

      it("keeps at most historySize versions", async () => {
        const store = await open({ historySize: 3 });
        await store.create("default", Dtab.read("/v=>/1"));
        for (let v = 1; v < 12; v++) await store.update("default", Dtab.read(`/v=>/${v + 1}`), String(v));
        const history = await store.history("default");
        expect(history.map((h) => h.version)).toEqual(["12", "11", "10"]);
        expect(history[0]?.dtab).toBe("/v=>/12");
        expect(await store.history("default", 10)).toHaveLength(3);
      });

      it("records the updatedAt of each version as its history time", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        await store.put("default", Dtab.read(B));
        const [latest] = await store.history("default");
        expect(latest?.at).toBe((await store.get("default"))?.updatedAt);
      });
    });

    describe("rollback", () => {
      it("restores an earlier version's dtab as a new version, recorded as a rollback", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        await store.update("default", Dtab.read(B), "1");
        const result = await store.rollback("default", "1", undefined, { actor: "carol", source: "127.0.0.1" });
        expect(result).toEqual({ namespace: "default", version: "3" });
        const got = await store.get("default");
        expect(got?.version).toBe("3");
        expect(got?.dtab.show).toBe(Dtab.read(A).show);
        const [entry] = await store.history("default");
        expect(entry).toMatchObject({
          version: "3",
          action: "rollback",
          dtab: Dtab.read(A).show,
          restoredVersion: "1",
          previousVersion: "2",
          actor: "carol",
          source: "127.0.0.1",
        });
        const [audit] = await store.audit("default");
        expect(audit).toMatchObject({ action: "rollback", oldVersion: "2", newVersion: "3", actor: "carol" });
      });

      it("checks the expected version when given", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        await store.update("default", Dtab.read(B), "1");
        await expect(store.rollback("default", "1", "1")).rejects.toMatchObject({ code: "NAMER_ERR_VERSION_MISMATCH" });
        expect((await store.get("default"))?.version).toBe("2");
        expect(await store.rollback("default", "1", "2")).toMatchObject({ version: "3" });
      });

      it("fails with NAMER_ERR_VERSION_UNKNOWN for versions not kept, never written, or deletions", async () => {
        const store = await open({ historySize: 2 });
        await store.create("default", Dtab.read(A));
        await store.update("default", Dtab.read(B), "1");
        await store.update("default", Dtab.read(C), "2");
        await expect(store.rollback("default", "1")).rejects.toMatchObject({ code: "NAMER_ERR_VERSION_UNKNOWN", status: 404 });
        await expect(store.rollback("default", "99")).rejects.toMatchObject({ code: "NAMER_ERR_VERSION_UNKNOWN" });
        await expect(store.rollback("never-was", "1")).rejects.toMatchObject({ code: "NAMER_ERR_VERSION_UNKNOWN" });
        await store.delete("default");
        await store.put("default", Dtab.read(A));
        await expect(store.rollback("default", "4")).rejects.toMatchObject({ code: "NAMER_ERR_VERSION_UNKNOWN" });
        expect((await store.get("default"))?.version).toBe("5");
      });

      it("brings a deleted namespace back from its history", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        await store.delete("default");
        await expect(store.rollback("default", "1", "2")).rejects.toMatchObject({ code: "NAMER_ERR_NOT_FOUND" });
        expect(await store.rollback("default", "1")).toMatchObject({ version: "3" });
        expect((await store.get("default"))?.dtab.show).toBe(Dtab.read(A).show);
        expect((await store.history("default"))[0]).toMatchObject({ action: "rollback", restoredVersion: "1" });
        expect((await store.history("default"))[0]?.previousVersion).toBeUndefined();
      });
    });

    describe("audit", () => {
      it("records who, when, from where, what, old and new version, newest first", async () => {
        const store = await open({ now: tickingClock(Date.parse("2024-01-01T00:00:00.000Z")) });
        await store.create("default", Dtab.read(A), { actor: "alice", source: "10.0.0.1" });
        await store.update("default", Dtab.read(B), "1", { actor: "bob" });
        await store.delete("default", undefined, { source: "10.0.0.3" });
        await store.create("other", Dtab.read(A));
        expect(await store.audit("default")).toEqual([
          { at: "2024-01-01T00:00:03.000Z", actor: "anonymous", source: "10.0.0.3", namespace: "default", action: "delete", oldVersion: "2", newVersion: "3" },
          { at: "2024-01-01T00:00:02.000Z", actor: "bob", source: "unknown", namespace: "default", action: "update", oldVersion: "1", newVersion: "2" },
          { at: "2024-01-01T00:00:01.000Z", actor: "alice", source: "10.0.0.1", namespace: "default", action: "create", newVersion: "1" },
        ]);
        expect(await store.audit("default", 1)).toHaveLength(1);
        expect(await store.audit("other")).toHaveLength(1);
        expect(await store.audit("never-was")).toEqual([]);
      });

      it("keeps at most auditSize records, independently of historySize", async () => {
        const store = await open({ historySize: 2, auditSize: 4 });
        await store.create("default", Dtab.read(A));
        for (let v = 1; v < 6; v++) await store.put("default", Dtab.read(`/v=>/${v}`));
        expect((await store.audit("default")).map((a) => a.newVersion)).toEqual(["6", "5", "4", "3"]);
        expect(await store.history("default")).toHaveLength(2);
      });

      it("does not record failed writes", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        await expect(store.create("default", Dtab.read(A))).rejects.toMatchObject({ code: "NAMER_ERR_EXISTS" });
        await expect(store.update("default", Dtab.read(A), "7")).rejects.toMatchObject({ code: "NAMER_ERR_VERSION_MISMATCH" });
        expect(await store.audit("default")).toHaveLength(1);
        expect(await store.history("default")).toHaveLength(1);
      });
    });

    describe("watchNamespaces", () => {
      it("calls now, then once per change of the sorted list, never twice with the same list", async () => {
        const store = await open();
        await store.create("b", Dtab.read(A));
        const calls: (readonly string[])[] = [];
        const stop = store.watchNamespaces((names) => calls.push(names));
        expect(calls).toEqual([["b"]]);
        await store.create("a", Dtab.read(A));
        await store.put("a", Dtab.read(B)); // same list: no call
        await store.update("b", Dtab.read(B), "1"); // same list: no call
        await store.delete("b");
        await store.create("b", Dtab.read(C));
        await store.rollback("a", "1");
        await target.settle(store);
        expect(calls).toEqual([["b"], ["a", "b"], ["a"], ["a", "b"]]);
        stop();
        await store.create("c", Dtab.read(A));
        await target.settle(store);
        expect(calls).toHaveLength(4);
      });
    });

    describe("watch", () => {
      it("calls now with the current state, then once per new version, with deletion as undefined", async () => {
        const store = await open();
        const calls: string[] = [];
        const stop = store.watch("default", (state) => calls.push(seen(state)));
        expect(calls).toEqual(["-"]);
        await store.create("default", Dtab.read(A));
        await store.update("default", Dtab.read(B), "1");
        await store.put("default", Dtab.read(B)); // same dtab, new version: still a call
        await store.create("other", Dtab.read(C)); // another namespace: no call
        await store.delete("default");
        await store.create("default", Dtab.read(C));
        await target.settle(store);
        const a = Dtab.read(A).show;
        const b = Dtab.read(B).show;
        const c = Dtab.read(C).show;
        expect(calls).toEqual(["-", `1:${a}`, `2:${b}`, `3:${b}`, "-", `5:${c}`]);
        stop();
        await store.put("default", Dtab.read(A));
        await target.settle(store);
        expect(calls).toHaveLength(6);
      });

      it("starts a watcher on an existing namespace with its state, the same object get() returns", async () => {
        const store = await open();
        await store.create("default", Dtab.read(A));
        let last: VersionedDtab | undefined;
        store.watch("default", (state) => (last = state));
        expect(last).toEqual(await store.get("default"));
        await store.put("default", Dtab.read(B));
        expect(last).toEqual(await store.get("default"));
        expect(last?.version).toBe("2");
      });

      it("survives a listener that throws: the write succeeds and the other listeners are called", async () => {
        const store = await open();
        const calls: string[] = [];
        store.watch("default", () => {
          throw new Error("listener bug");
        });
        store.watchNamespaces(() => {
          throw new Error("listener bug");
        });
        store.watch("default", (state) => calls.push(seen(state)));
        await expect(store.create("default", Dtab.read(A))).resolves.toMatchObject({ version: "1" });
        await store.put("default", Dtab.read(B));
        await target.settle(store);
        expect(calls).toEqual(["-", `1:${Dtab.read(A).show}`, `2:${Dtab.read(B).show}`]);
        expect(await store.list()).toEqual(["default"]);
      });
    });

    describe("concurrency", () => {
      it("keeps every change of 100 concurrent compare-and-set writers on one namespace", async () => {
        const store = await open();
        await store.create("cas", Dtab.read("/base=>/base"));
        const writers = 100;
        const attempts = await Promise.all(
          Array.from({ length: writers }, async (_, i) => {
            const mine = Dentry.read(`/writer/${i}=>/dst/${i}`);
            for (let attempt = 1; attempt <= 10_000; attempt++) {
              const current = await store.get("cas");
              if (current === undefined) throw new Error("the namespace vanished");
              try {
                await store.update("cas", current.dtab.append(mine), current.version);
                return attempt;
              } catch (e) {
                if (!isNamerError(e, "NAMER_ERR_VERSION_MISMATCH")) throw e;
              }
            }
            throw new Error(`writer ${i} never got its update in`);
          }),
        );
        const final = await store.get("cas");
        expect(final?.version).toBe(String(writers + 1));
        const shown = final?.dtab.dentries.map((d) => d.show) ?? [];
        expect(shown).toHaveLength(writers + 1);
        for (let i = 0; i < writers; i++) expect(shown.filter((s) => s === `/writer/${i}=>/dst/${i}`)).toHaveLength(1);
        // The writers really raced: most had to retry after losing to another.
        expect(attempts.filter((n) => n > 1).length).toBeGreaterThan(writers / 2);
        expect(await store.audit("cas")).toHaveLength(writers + 1);
      });
    });
  });
}
