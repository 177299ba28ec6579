// The io.l5d.namerd.http interpreter against a real namer process: bindings
// follow dtab changes, weights, residuals and local dtabs come through, one
// stream per key that idles away, and a namer killed outright leaves routers
// on their last good bindings (in memory and, across a router restart, from
// the snapshot) until a namer comes back on the same port.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Dtab, NameTree, Path } from "../../../dtab/index.ts";
import { silentLogger } from "../../../lib/log.ts";
import { RemoteNameInterpreter, snapshotFile, type RemoteInterpreterOptions } from "../../../namer/client/index.ts";
import type { Binding, BoundLeaf } from "../../../namer/interpreter/interpreter.ts";
import { eventually } from "../../support/process.ts";
import { openWatchStreams, startBindNamer, usesMeshdNamer, type BindNamer } from "./support/namer.ts";

const p = Path.read;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// The bound tree as text: each leaf as its id with its addresses, weights as Finagle prints them.
function show(b: Binding): string {
  if (b.type !== "ok") return b.type === "failed" ? `failed ${b.code}` : b.type;
  return NameTree.show(NameTree.map(b.tree, (l: BoundLeaf) => ({ id: `${l.id.show}[${l.addr.type === "bound" ? l.addr.addrs.map((a) => `${a.host}:${a.port}`).join(",") : l.addr.type}]` })));
}

const inet = (port: number) => `/$/inet/127.0.0.1/${port}[127.0.0.1:${port}]`;

async function namer(options: Parameters<typeof startBindNamer>[0] = {}): Promise<BindNamer> {
  const n = await startBindNamer(options);
  cleanups.push(() => n.stop("SIGKILL"));
  return n;
}

function client(baseUrl: string, options: Partial<RemoteInterpreterOptions> = {}): RemoteNameInterpreter {
  const interpreter = new RemoteNameInterpreter({ baseUrl, logger: silentLogger, retry: { baseMs: 100, maxMs: 1_000 }, ...options });
  cleanups.push(() => interpreter.close());
  return interpreter;
}

/** Replaces a namespace's dtab through the API, with compare-and-set as namerctl does. */
async function updateDtab(n: BindNamer, ns: string, dtab: string): Promise<void> {
  const current = await fetch(`${n.url}/api/1/dtabs/${ns}`);
  const version = current.headers.get("etag") ?? "";
  const res = await fetch(`${n.url}/api/1/dtabs/${ns}`, { method: "PUT", headers: { "content-type": "application/dtab", "if-match": version }, body: dtab });
  expect(res.status).toBe(204);
}

async function showsAs(live: { current(): Binding }, expected: string, what = expected, timeoutMs = 10_000): Promise<void> {
  await eventually(() => (show(live.current()) === expected ? true : undefined), timeoutMs, `${what} (now ${show(live.current())})`);
}

const meshdServesNames = await usesMeshdNamer();

describe("RemoteNameInterpreter against a namer process", () => {
  it("binds, then follows dtab updates made through the API, with union weights and residuals", async () => {
    const n = await namer({ namespaces: { default: "/svc => /$/inet/127.0.0.1/10001" } });
    const interpreter = client(n.url);
    const live = interpreter.bind(p("/svc/users/extra"));
    cleanups.push(() => live.close());
    await showsAs(live, inet(10001), "the initial binding");
    const first = live.current();
    expect(first.type === "ok" && first.tree.type === "leaf" && first.tree.value.residual.show).toBe("/users/extra");

    await updateDtab(n, "default", "/svc/users => 3 * /$/inet/127.0.0.1/10002 & 1 * /$/inet/127.0.0.1/10003");
    await showsAs(live, `3.00*${inet(10002)} & ${inet(10003)}`, "the updated binding");
    const b = live.current();
    if (b.type !== "ok" || b.tree.type !== "union") throw new Error(`expected a union, got ${show(b)}`);
    expect(b.tree.trees.map((w) => w.weight)).toEqual([3, 1]);
    const leaves = b.tree.trees.map((w) => (w.tree as { value: BoundLeaf }).value);
    expect(leaves.map((l) => [l.residual.show, l.weight])).toEqual([
      ["/extra", 3],
      ["/extra", 1],
    ]);
    expect(leaves[0]?.addr).toEqual({ type: "bound", addrs: [{ host: "127.0.0.1", port: 10002, meta: {} }], meta: {} });

    await updateDtab(n, "default", "/svc => ~");
    await showsAs(live, "~", "a neg binding once the route is removed");
  });

  it("sends the local dtab, which the namer appends after the namespace's so it wins", async () => {
    const n = await namer({ namespaces: { default: "/svc => /$/inet/127.0.0.1/10001" } });
    const interpreter = client(n.url);
    const plain = interpreter.bind(p("/svc/users"));
    const overridden = interpreter.bind(p("/svc/users"), Dtab.read("/svc/users => /$/inet/127.0.0.1/10009"));
    const untouched = interpreter.bind(p("/svc/orders"), Dtab.read("/svc/users => /$/inet/127.0.0.1/10009"));
    cleanups.push(() => plain.close(), () => overridden.close(), () => untouched.close());
    await showsAs(plain, inet(10001));
    await showsAs(overridden, inet(10009));
    await showsAs(untouched, inet(10001));
  });

  it("binds in the configured namespace, and a namespace that does not exist binds to neg", async () => {
    const n = await namer({ namespaces: { default: "/svc => /$/inet/127.0.0.1/10001", prod: "/svc => /$/inet/127.0.0.1/10002" } });
    const prod = client(n.url, { namespace: "prod" }).bind(p("/svc/users"));
    const missing = client(n.url, { namespace: "nope" }).bind(p("/svc/users"));
    cleanups.push(() => prod.close(), () => missing.close());
    await showsAs(prod, inet(10002));
    await showsAs(missing, "~");
  });

  it("opens one watch stream per (path, local dtab), and closes it once idle", async () => {
    const n = await namer({ namespaces: { default: "/svc => /$/inet/127.0.0.1/10001" } });
    const interpreter = client(n.url, { idleMs: 200 });
    const a1 = interpreter.bind(p("/svc/a"));
    const a2 = interpreter.bind(p("/svc/a"));
    const b = interpreter.bind(p("/svc/a"), Dtab.read("/svc/a => /$/inet/127.0.0.1/10002"));
    await showsAs(a2, inet(10001));
    await showsAs(b, inet(10002));
    expect(await openWatchStreams(n.adminUrl)).toBe(2);
    a1.close();
    expect(await openWatchStreams(n.adminUrl)).toBe(2);
    a2.close();
    b.close();
    await eventually(async () => ((await openWatchStreams(n.adminUrl)) === 0 ? true : undefined), 5_000, "the idle streams closed");
    expect(interpreter.cached).toMatchObject({ bindings: 0, activeBindings: 0 });
  });

  it("keeps the last good binding while the namer is killed, reconnects with backoff, and converges on a new namer on the same port", async () => {
    const first = await namer({ namespaces: { default: "/svc => /$/inet/127.0.0.1/10001" } });
    const interpreter = client(first.url, { retry: { baseMs: 50, maxMs: 400 } });
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await showsAs(live, inet(10001));
    const seen: string[] = [];
    live.subscribe((b) => seen.push(show(b)));

    await first.stop("SIGKILL");
    await eventually(() => ((interpreter.watches()[0]?.failures ?? 0) >= 3 ? true : undefined), 10_000, "several failed reconnects");
    expect(show(live.current())).toBe(inet(10001));
    expect(interpreter.watches()[0]).toMatchObject({ binding: "ok", source: "namer" });
    expect(interpreter.watches()[0]?.state).not.toBe("streaming");

    const second = await namer({ port: first.port, adminPort: first.adminPort, namespaces: { default: "/svc => /$/inet/127.0.0.1/10002" } });
    await showsAs(live, inet(10002), "the new namer's binding");
    expect(seen).toEqual([inet(10002)]);
    expect(interpreter.watches()[0]).toMatchObject({ state: "streaming", failures: 0, connections: 2 });
    expect(await openWatchStreams(second.adminUrl)).toBe(1);
  });

  it("notices a frozen namer (SIGSTOP) as a dead peer by its missing keep-alives, and resumes when it thaws", async () => {
    const n = await namer({ namespaces: { default: "/svc => /$/inet/127.0.0.1/10001" }, watchKeepAliveMs: 100 });
    const interpreter = client(n.url, { keepAliveTimeoutMs: 600, connectTimeoutMs: 300, retry: { baseMs: 50, maxMs: 200 } });
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await showsAs(live, inet(10001));
    n.process.child.kill("SIGSTOP");
    cleanups.push(() => n.process.child.kill("SIGCONT"));
    await eventually(() => (/dead peer/.test(interpreter.watches()[0]?.lastError ?? "") ? true : undefined), 10_000, "the silent stream dropped");
    await eventually(() => ((interpreter.watches()[0]?.failures ?? 0) >= 2 ? true : undefined), 10_000, "connects to the frozen namer timing out");
    expect(show(live.current())).toBe(inet(10001));
    n.process.child.kill("SIGCONT");
    await eventually(() => (interpreter.watches()[0]?.state === "streaming" && interpreter.watches()[0]?.failures === 0 ? true : undefined), 10_000, "the stream back");
    await updateDtab(n, "default", "/svc => /$/inet/127.0.0.1/10002");
    await showsAs(live, inet(10002), "a change after the thaw");
  });

  it("a router restarted during a namer outage answers from its snapshot at once, then follows the namer when it returns", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "meshd-router-state-"));
    const first = await namer({ namespaces: { default: "/svc => /$/inet/127.0.0.1/10001" } });
    const local = Dtab.read("/svc/orders => /$/inet/127.0.0.1/10005");
    const before = client(first.url, { stateDir, snapshotDebounceMs: 20 });
    const users = before.bind(p("/svc/users"));
    const orders = before.bind(p("/svc/orders"), local);
    await showsAs(users, inet(10001));
    await showsAs(orders, inet(10005));
    users.close();
    orders.close();
    await eventually(() => (before.cached.snapshotWrites >= 1 ? true : undefined), 5_000, "the snapshot written");
    await before.close();

    await first.stop("SIGKILL");
    // A new router process (a new interpreter on the same state directory) while no namer runs.
    const after = client(first.url, { stateDir, retry: { baseMs: 50, maxMs: 400 } });
    const users2 = after.bind(p("/svc/users"));
    const orders2 = after.bind(p("/svc/orders"), local);
    const unknown = after.bind(p("/svc/never-seen"));
    cleanups.push(() => users2.close(), () => orders2.close(), () => unknown.close());
    expect(show(users2.current())).toBe(inet(10001));
    expect(show(orders2.current())).toBe(inet(10005));
    expect(unknown.current()).toEqual({ type: "pending" });
    await eventually(() => (after.watches().every((w) => w.failures >= 2) ? true : undefined), 10_000, "reconnects failing");
    expect(show(users2.current())).toBe(inet(10001));

    await namer({ port: first.port, adminPort: first.adminPort, namespaces: { default: "/svc => /$/inet/127.0.0.1/10002" } });
    await showsAs(users2, inet(10002), "the returned namer's binding");
    await showsAs(unknown, inet(10002), "the unknown name bound");
    await showsAs(orders2, inet(10005));
    expect(after.watches().find((w) => w.path === "/svc/users")?.source).toBe("namer");
  });

  it.runIf(meshdServesNames)("binds through an io.l5d.fs namer and follows changes to its files", async () => {
    const rootDir = mkdtempSync(join(tmpdir(), "meshd-fs-namer-"));
    writeFileSync(join(rootDir, "users"), "127.0.0.1 10011\n");
    const n = await namer({ namespaces: { default: "/svc => /#/io.l5d.fs" }, namers: [{ kind: "io.l5d.fs", rootDir }] });
    const live = client(n.url).bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await showsAs(live, "/#/io.l5d.fs/users[127.0.0.1:10011]");
    writeFileSync(join(rootDir, "users"), "127.0.0.1 10011\n127.0.0.1 10012\n");
    await showsAs(live, "/#/io.l5d.fs/users[127.0.0.1:10011,127.0.0.1:10012]", "the address change", 15_000);
  });

  it("writes its snapshot where documented", () => {
    expect(snapshotFile("/var/lib/meshd", "default")).toBe("/var/lib/meshd/namerd-http.default.json");
  });
});
