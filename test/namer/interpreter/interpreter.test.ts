// The name interpreter: live bindings through the namespace dtab ++ local
// dtab over the namers, re-evaluated on dtab and address changes, shared
// between watchers, evicted when idle, and never replacing a good value with
// an error or a pending answer.
import { afterEach, describe, expect, it } from "vitest";
import { Dtab, NameTree, Path } from "../../../dtab/index.ts";
import { silentLogger } from "../../../lib/log.ts";
import { NameInterpreter, PARTIAL_HOLD_MS, type Binding, type BoundLeaf } from "../../../namer/interpreter/interpreter.ts";
import { MemoryDtabStore } from "../../../namer/store/memory.ts";
import { eventually } from "../../support/process.ts";
import { TableNamer } from "../../support/table-namer.ts";

const toClose: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of toClose.splice(0)) await c();
});

async function setup(dtab = "/svc=>/#/table", idleMs = 60_000) {
  const store = await MemoryDtabStore.open({ namespaces: { default: dtab } });
  const table = new TableNamer();
  const interpreter = new NameInterpreter(store, [table], { logger: silentLogger, idleMs });
  toClose.push(() => interpreter.close(), () => store.close());
  return { store, table, interpreter };
}

function show(b: Binding): string {
  if (b.type !== "ok") return b.type;
  return NameTree.show(NameTree.map(b.tree, (l: BoundLeaf) => ({ id: `${l.id.show}[${l.addr.type === "bound" ? l.addr.addrs.map((a) => `${a.host}:${a.port}`).join(",") : l.addr.type}]` })));
}

const p = Path.read;

describe("bind", () => {
  it("binds through the namespace dtab and the namers, with addresses", async () => {
    const { table, interpreter } = await setup();
    table.set("users", ["10.0.0.1:80", "10.0.0.2:80"]);
    const live = interpreter.bind("default", p("/svc/users/extra"));
    toClose.push(() => live.close());
    const b = live.current();
    expect(show(b)).toBe("/#/table/users[10.0.0.1:80,10.0.0.2:80]");
    expect(b.type === "ok" && b.tree.type === "leaf" && b.tree.value.residual.show).toBe("/extra");
  });

  it("appends the local dtab after the namespace's, so it wins", async () => {
    const { table, interpreter } = await setup();
    table.set("users", ["10.0.0.1:80"]);
    table.set("users-v2", ["10.0.0.9:80"]);
    const live = interpreter.bind("default", p("/svc/users"), Dtab.read("/svc/users=>/#/table/users-v2"));
    toClose.push(() => live.close());
    expect(show(live.current())).toBe("/#/table/users-v2[10.0.0.9:80]");
  });

  it("binds a namespace that does not exist as an empty dtab", async () => {
    const { interpreter } = await setup();
    const live = interpreter.bind("nope", p("/svc/users"));
    toClose.push(() => live.close());
    expect(live.current()).toEqual({ type: "ok", tree: NameTree.neg });
  });

  it("re-evaluates when an address set changes, and stays quiet when a change does not affect it", async () => {
    const { store, table, interpreter } = await setup();
    table.set("a", ["10.0.0.1:80"]);
    const live = interpreter.bind("default", p("/svc/x"), Dtab.read("/svc/x=>/#/table/a"));
    toClose.push(() => live.close());
    const seen: string[] = [];
    live.subscribe((b) => seen.push(show(b)));
    table.set("a", ["10.0.0.1:80", "10.0.0.3:80"]);
    await eventually(() => (seen.length >= 1 ? true : undefined));
    // The local dtab decides where /svc/x goes, so this namespace change binds to the same thing.
    await store.update("default", Dtab.read("/svc=>/$/nil"), "1");
    table.set("unrelated", ["10.9.9.9:80"]);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(["/#/table/a[10.0.0.1:80,10.0.0.3:80]"]);
  });

  it("follows a namespace dtab change to a weighted union, carrying weights to the leaves", async () => {
    const { store, table, interpreter } = await setup("/svc=>/#/table");
    table.set("a", ["10.0.0.1:80"]);
    table.set("b", ["10.0.0.2:80"]);
    const live = interpreter.bind("default", p("/svc/a"));
    toClose.push(() => live.close());
    const seen: Binding[] = [];
    live.subscribe((b) => seen.push(b));
    await store.update("default", Dtab.read("/svc=>/#/table;/svc/a=>0.7*/#/table/a & 0.3*/#/table/b"), "1");
    await eventually(() => (seen.length >= 1 ? true : undefined));
    const b = seen[0] as Binding;
    expect(show(b)).toBe("0.70*/#/table/a[10.0.0.1:80] & 0.30*/#/table/b[10.0.0.2:80]");
    const weights = b.type === "ok" && b.tree.type === "union" ? b.tree.trees.map((w) => w.tree.type === "leaf" && w.tree.value.weight) : [];
    expect(weights).toEqual([0.7, 0.3]);
    // Deleting the namespace is a real change: it binds as an empty dtab.
    await store.delete("default", "2");
    await eventually(() => (seen.length >= 2 ? true : undefined));
    expect(seen[1]).toEqual({ type: "ok", tree: NameTree.neg });
  });

  it("never replaces a good binding with a failure or a pending answer", async () => {
    const { store, table, interpreter } = await setup();
    table.set("users", ["10.0.0.1:80"]);
    const live = interpreter.bind("default", p("/svc/users"));
    toClose.push(() => live.close());
    const seen: string[] = [];
    live.subscribe((b) => seen.push(show(b)));
    // A loop in the dtab is an error: the last good binding stays.
    await store.update("default", Dtab.read("/svc=>/#/table;/svc/users=>/loop;/loop=>/loop"), "1");
    table.set("users", "pending");
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([]);
    expect(show(live.current())).toBe("/#/table/users[10.0.0.1:80]");
    // Fixing the dtab takes effect.
    await store.update("default", Dtab.read("/svc/users=>/$/inet/127.0.0.1/9999"), "2");
    await eventually(() => (seen.length > 0 ? true : undefined));
    expect(seen).toEqual(["/$/inet/127.0.0.1/9999[127.0.0.1:9999]"]);
  });

  it("starts pending, then answers when discovery does; a failure first is reported", async () => {
    const { table, interpreter } = await setup();
    table.set("slow", "pending");
    table.set("broken", { failed: "zookeeper unreachable" });
    const slow = interpreter.bind("default", p("/svc/slow"));
    const broken = interpreter.bind("default", p("/svc/broken"));
    toClose.push(() => slow.close(), () => broken.close());
    expect(slow.current()).toEqual({ type: "pending" });
    expect(broken.current()).toMatchObject({ type: "failed", code: "DTAB_ERR_NAMER_FAILED", cause: expect.stringContaining("zookeeper unreachable") });
    const seen: string[] = [];
    slow.subscribe((b) => seen.push(show(b)));
    table.set("slow", ["10.0.0.5:80"]);
    await eventually(() => (seen.length >= 1 ? true : undefined));
    expect(seen).toEqual(["/#/table/slow[10.0.0.5:80]"]);
  });

  it("holds back a union whose branch is still waiting on discovery, then publishes it whole", async () => {
    const { table, interpreter } = await setup("/svc=>/#/table;/svc/u=>/#/table/ready & /#/table/slow;/svc/alt=>/#/table/missing | /#/table/ready");
    table.set("ready", ["10.0.0.1:80"]);
    table.set("slow", "pending");
    const u = interpreter.bind("default", p("/svc/u"));
    const alt = interpreter.bind("default", p("/svc/alt"));
    toClose.push(() => u.close(), () => alt.close());
    // All traffic to `ready` alone would be wrong for the moment `slow` takes to load.
    expect(u.current()).toEqual({ type: "pending" });
    expect(show(alt.current())).toBe("/#/table/ready[10.0.0.1:80]");
    const seen: string[] = [];
    u.subscribe((b) => seen.push(show(b)));
    table.set("slow", ["10.0.0.2:80"]);
    await eventually(() => (seen.length > 0 ? true : undefined));
    expect(seen).toEqual(["/#/table/ready[10.0.0.1:80] & /#/table/slow[10.0.0.2:80]"]);
  });

  it("publishes a union without a branch that never answers, after a bounded hold (Finagle's rule)", async () => {
    const { table, interpreter } = await setup("/svc=>/#/table;/svc/u=>/#/table/ready & /#/table/never");
    table.set("ready", ["10.0.0.1:80"]);
    table.set("never", "pending");
    const u = interpreter.bind("default", p("/svc/u"));
    toClose.push(() => u.close());
    const started = Date.now();
    await eventually(() => (u.current().type === "ok" ? true : undefined), 5_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(PARTIAL_HOLD_MS - 50);
    expect(show(u.current())).toBe("/#/table/ready[10.0.0.1:80]");
  });
});

describe("sharing and caching", () => {
  it("shares one binding and one namer observation between watchers", async () => {
    const { table, interpreter } = await setup();
    table.set("users", ["10.0.0.1:80"]);
    const first = interpreter.bind("default", p("/svc/users"));
    const second = interpreter.bind("default", p("/svc/users"));
    const other = interpreter.addr(p("/#/table/users"));
    toClose.push(() => first.close(), () => second.close(), () => other.close());
    expect(table.opened).toBe(1);
    expect(interpreter.cached.bindings).toBe(1);
    const a: string[] = [];
    const b: string[] = [];
    first.subscribe((x) => a.push(show(x)));
    second.subscribe((x) => b.push(show(x)));
    table.set("users", ["10.0.0.2:80"]);
    await eventually(() => (a.length && b.length ? true : undefined));
    expect(a).toEqual(b);
  });

  it("keeps idle bindings warm for a while, then releases their observations", async () => {
    const { table, interpreter } = await setup("/svc=>/#/table", 100);
    table.set("users", ["10.0.0.1:80"]);
    const live = interpreter.bind("default", p("/svc/users"));
    live.close();
    expect(interpreter.cached.bindings).toBe(1);
    const again = interpreter.bind("default", p("/svc/users"));
    again.close();
    expect(table.opened).toBe(1);
    await eventually(() => (interpreter.cached.bindings === 0 && interpreter.cached.observations === 0 ? true : undefined), 3_000, "idle eviction");
    expect(table.closed).toBe(1);
  });

  it("lets go of observations a re-evaluation no longer uses", async () => {
    const { store, table, interpreter } = await setup("/svc=>/#/table", 0);
    table.set("a", ["10.0.0.1:80"]);
    table.set("b", ["10.0.0.2:80"]);
    const live = interpreter.bind("default", p("/svc/a"));
    toClose.push(() => live.close());
    await store.update("default", Dtab.read("/svc=>/#/table;/svc/a=>/#/table/b"), "1");
    await eventually(() => (show(live.current()) === "/#/table/b[10.0.0.2:80]" ? true : undefined));
    expect(table.opened).toBe(2);
    expect(table.closed).toBe(1);
  });
});

describe("addr, resolve and delegate", () => {
  it("follows a bound id's address set, and knows /$/inet ids from the path", async () => {
    const { table, interpreter } = await setup();
    table.set("users", ["10.0.0.1:80"]);
    const live = interpreter.addr(p("/#/table/users"));
    toClose.push(() => live.close());
    expect(live.current()).toEqual({ type: "bound", addrs: [{ host: "10.0.0.1", port: 80, meta: {} }], meta: {} });
    const seen: unknown[] = [];
    live.subscribe((a) => seen.push(a));
    table.set("users", undefined);
    await eventually(() => (seen.length > 0 ? true : undefined));
    expect(seen).toEqual([{ type: "neg" }]);
    expect(interpreter.addr(p("/$/inet/127.0.0.1/8080")).current()).toEqual({ type: "bound", addrs: [{ host: "127.0.0.1", port: 8080, meta: {} }], meta: {} });
    expect(interpreter.addr(p("/%/io.l5d.port/#/table/nope")).current()).toEqual({ type: "neg" });
  });

  it("resolves by picking a union branch by weight", async () => {
    const { table, interpreter } = await setup("/svc=>/#/table;/svc/w=>0.25*/#/table/a & 0.75*/#/table/b");
    table.set("a", ["10.0.0.1:80"]);
    table.set("b", ["10.0.0.2:80"]);
    const low = interpreter.resolve("default", p("/svc/w"), Dtab.empty, () => 0.1);
    const high = interpreter.resolve("default", p("/svc/w"), Dtab.empty, () => 0.5);
    toClose.push(() => low.close(), () => high.close());
    expect(low.current()).toMatchObject({ addrs: [{ host: "10.0.0.1" }] });
    expect(high.current()).toMatchObject({ addrs: [{ host: "10.0.0.2" }] });
    expect(interpreter.resolve("default", p("/nothing")).current()).toEqual({ type: "neg" });
  });

  it("explains a path with live addresses, waiting briefly for pending discovery", async () => {
    const { table, interpreter } = await setup();
    table.set("users", "pending");
    setTimeout(() => table.set("users", ["10.0.0.7:8080"]), 50);
    const tree = await interpreter.delegate("default", p("/svc/users"));
    expect(tree).toMatchObject({
      type: "delegate",
      path: "/svc/users",
      delegate: { type: "leaf", path: "/#/table/users", dentry: { prefix: "/svc", dst: "/#/table" }, bound: { id: "/#/table/users", addr: { type: "bound", addrs: [{ ip: "10.0.0.7", port: 8080 }] } } },
    });
    table.set("never", "pending");
    const started = Date.now();
    const stuck = await interpreter.delegate("default", p("/svc/never"), Dtab.empty, 200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(stuck).toMatchObject({ delegate: { type: "exception", message: expect.stringContaining("no answer from discovery yet") } });
  });
});
