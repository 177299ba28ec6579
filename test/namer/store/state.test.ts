// The shared in-memory table and write rules both stores are built on: only
// newer versions apply (integer order), deletions are explicit, reconcile
// never lets an empty or stale read replace known dtabs, listeners are
// called once per change and in order, and one that throws is contained.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { Dtab } from "../../../dtab/index.ts";
import {
  compareVersions,
  DtabState,
  findRollbackTarget,
  type NamespaceState,
  nextVersion,
  planWrite,
} from "../../../namer/store/state.ts";

const live = (namespace: string, version: string, dtab = "/a=>/b"): NamespaceState => ({
  namespace,
  version,
  updatedAt: "2024-01-01T00:00:00.000Z",
  dtab: Dtab.read(dtab),
});
const deleted = (namespace: string, version: string): NamespaceState => ({ namespace, version, updatedAt: "2024-01-01T00:00:00.000Z", dtab: undefined });
const snapshot = (...states: NamespaceState[]) => ({ states, namespaces: new Set(states.map((s) => s.namespace)) });

function logged(): { state: DtabState; messages: () => string[] } {
  const records: { msg: string }[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void records.push(JSON.parse(line) as { msg: string }) });
  return { state: new DtabState(logger), messages: () => records.map((r) => r.msg) };
}

describe("versions", () => {
  it("compare as integers and count up from the higher of counter and floor", () => {
    expect(compareVersions("10", "9")).toBe(1);
    expect(compareVersions("9", "10")).toBe(-1);
    expect(compareVersions("12345678901234567890", "12345678901234567890")).toBe(0);
    expect(nextVersion(undefined)).toBe("1");
    expect(nextVersion("9")).toBe("10");
    expect(nextVersion("3", "7")).toBe("8");
    expect(nextVersion("7", "3")).toBe("8");
  });
});

describe("DtabState.apply", () => {
  it("applies only newer versions, so duplicate and out-of-order events are harmless", () => {
    const state = new DtabState();
    const calls: string[] = [];
    state.watch("ns", (s) => calls.push(s?.version ?? "-"));
    expect(state.apply(live("ns", "2"))).toBe(true);
    expect(state.apply(live("ns", "2", "/dup=>/x"))).toBe(false);
    expect(state.apply(live("ns", "1"))).toBe(false);
    expect(state.apply(live("ns", "10"))).toBe(true);
    expect(state.apply(live("ns", "9"))).toBe(false);
    expect(calls).toEqual(["-", "2", "10"]);
    expect(state.get("ns")?.dtab.show).toBe("/a=>/b");
  });

  it("keeps a deletion as a state: an older live version cannot resurrect the namespace", () => {
    const state = new DtabState();
    state.apply(live("ns", "1"));
    state.apply(deleted("ns", "2"));
    expect(state.apply(live("ns", "1"))).toBe(false);
    expect(state.get("ns")).toBeUndefined();
    expect(state.state("ns")).toMatchObject({ version: "2", dtab: undefined });
    expect(state.list()).toEqual([]);
    expect(state.highWater("ns")).toBe("2");
  });

  it("does not notify a deletion of a namespace nobody saw", () => {
    const state = new DtabState();
    const calls: unknown[] = [];
    state.watch("ns", (s) => calls.push(s));
    state.watchNamespaces((n) => calls.push(n));
    state.apply(deleted("ns", "3"));
    expect(calls).toEqual([undefined, []]);
  });

  it("delivers a change raised by a listener after the current one, so every listener sees versions in order", () => {
    const state = new DtabState();
    const first: string[] = [];
    const second: string[] = [];
    state.watch("ns", (s) => {
      first.push(s?.version ?? "-");
      if (s?.version === "1") state.apply(live("ns", "2"));
    });
    state.watch("ns", (s) => second.push(s?.version ?? "-"));
    state.apply(live("ns", "1"));
    expect(first).toEqual(["-", "1", "2"]);
    expect(second).toEqual(["-", "1", "2"]);
  });

  it("logs a listener that throws and carries on", () => {
    const { state, messages } = logged();
    state.watch("ns", () => {
      throw new Error("boom");
    });
    const calls: string[] = [];
    state.watch("ns", (s) => calls.push(s?.version ?? "-"));
    state.apply(live("ns", "1"));
    expect(calls).toEqual(["-", "1"]);
    expect(messages().filter((m) => m.includes("watcher threw"))).toHaveLength(2);
  });
});

describe("DtabState.reconcile", () => {
  it("applies newer states and drops namespaces a non-empty snapshot no longer has", () => {
    const state = new DtabState();
    state.apply(live("a", "1"));
    state.apply(live("b", "1"));
    const since = state.mark();
    state.reconcile(snapshot(live("a", "3")), since);
    expect(state.get("a")?.version).toBe("3");
    expect(state.list()).toEqual(["a"]);
  });

  it("never lets an empty snapshot replace known dtabs", () => {
    const { state, messages } = logged();
    state.apply(live("a", "1"));
    state.reconcile(snapshot(), state.mark());
    state.reconcile(snapshot(), state.mark());
    expect(state.list()).toEqual(["a"]);
    expect(messages().filter((m) => m.includes("no namespaces at all"))).toHaveLength(1);
  });

  it("keeps namespaces present in the store whose state could not be read", () => {
    const state = new DtabState();
    state.apply(live("a", "1"));
    state.apply(live("b", "1"));
    state.reconcile({ states: [live("a", "1")], namespaces: new Set(["a", "b"]) }, state.mark());
    expect(state.list()).toEqual(["a", "b"]);
  });

  it("follows a store that went back to an older version, but not a read older than a change made during it", () => {
    const { state, messages } = logged();
    state.apply(live("a", "5"));
    state.apply(live("b", "5"));
    const since = state.mark();
    // Written here while the snapshot was being read: the read is the stale one.
    state.apply(live("b", "6"));
    state.reconcile(snapshot(live("a", "2", "/old=>/a"), live("b", "5")), since);
    expect(state.get("a")?.version).toBe("2");
    expect(state.get("a")?.dtab.show).toBe("/old=>/a");
    expect(state.get("b")?.version).toBe("6");
    // The floor for the next write stays above anything ever seen.
    expect(state.highWater("a")).toBe("5");
    expect(messages().filter((m) => m.includes("older version"))).toHaveLength(1);
  });

  it("does not drop a namespace created while the snapshot was being read", () => {
    const state = new DtabState();
    state.apply(live("a", "1"));
    const since = state.mark();
    state.apply(live("new", "1"));
    state.reconcile(snapshot(live("a", "1")), since);
    expect(state.list()).toEqual(["a", "new"]);
  });
});

describe("write rules", () => {
  const author = { actor: "alice", source: "10.0.0.1" };
  const at = "2024-01-01T00:00:00.000Z";

  it("plans the version above the floor when the backend forgot the namespace", () => {
    const plan = planWrite("ns", undefined, { op: "put", dtab: Dtab.read("/a=>/b") }, author, at, "41");
    expect(plan.state.version).toBe("42");
    expect(plan.history).toEqual({ version: "42", action: "create", dtab: "/a=>/b", at, actor: "alice", source: "10.0.0.1" });
    expect(plan.audit).toEqual({ at, actor: "alice", source: "10.0.0.1", namespace: "ns", action: "create", newVersion: "42" });
  });

  it("finds a rollback target only among kept, non-deletion versions", () => {
    const history = [
      { version: "3", action: "delete" as const, dtab: "", at, actor: "a", source: "s", previousVersion: "2" },
      { version: "2", action: "update" as const, dtab: "/x=>/y", at, actor: "a", source: "s", previousVersion: "1" },
    ];
    expect(findRollbackTarget("ns", history, "2").dtab.show).toBe("/x=>/y");
    expect(() => findRollbackTarget("ns", history, "3")).toThrow(/deletion/);
    expect(() => findRollbackTarget("ns", history, "1")).toThrow(/kept versions are 2–3/);
  });
});
