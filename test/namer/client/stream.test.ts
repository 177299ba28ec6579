// The remote interpreter's stream handling against a fake namer that
// misbehaves on demand: garbage and exception documents never replace a good
// binding, silent (dead) peers and hung connects are dropped and reopened,
// refusals are reported only when nothing better is known, and a recovered
// stream wakes the others out of their backoff.
import { afterEach, describe, expect, it } from "vitest";
import { Dtab, Path } from "../../../dtab/index.ts";
import { silentLogger } from "../../../lib/log.ts";
import { RemoteNameInterpreter, type RemoteInterpreterOptions } from "../../../namer/client/index.ts";
import type { Binding } from "../../../namer/interpreter/interpreter.ts";
import { eventually } from "../../support/process.ts";
import { FakeNamer, leafDoc } from "./support/fake-namer.ts";
import { captureLogger } from "./support/log.ts";

const p = Path.read;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** "127.0.0.1:<port>" for a leaf binding, else the binding's type (and code). */
function where(b: Binding): string {
  if (b.type === "failed") return `failed ${b.code}`;
  if (b.type === "pending") return "pending";
  const t = b.tree;
  if (t.type !== "leaf") return t.type;
  return t.value.addr.type === "bound" ? t.value.addr.addrs.map((a) => `${a.host}:${a.port}`).join(",") : t.value.addr.type;
}

async function setup(options: Partial<RemoteInterpreterOptions> = {}) {
  const fake = await FakeNamer.start();
  const interpreter = new RemoteNameInterpreter({
    baseUrl: fake.url,
    logger: silentLogger,
    retry: { baseMs: 20, maxMs: 100 },
    connectTimeoutMs: 2_000,
    keepAliveTimeoutMs: 5_000,
    random: () => 0.5,
    ...options,
  });
  cleanups.push(() => fake.close(), () => interpreter.close());
  return { fake, interpreter };
}

const until = <T>(f: () => T | undefined, what: string, timeoutMs = 5_000) => eventually(f, timeoutMs, what);

describe("RemoteNameInterpreter stream handling", () => {
  it("asks for the path, namespace and local dtab, and applies documents in order", async () => {
    const { fake, interpreter } = await setup({ namespace: "prod" });
    const live = interpreter.bind(p("/svc/users"), Dtab.read("/svc/users => /$/inet/127.0.0.1/2 & /$/inet/127.0.0.1/3"));
    cleanups.push(() => live.close());
    await until(() => fake.open.length === 1 || undefined, "the stream");
    const url = new URL(fake.requests[0] ?? "", fake.url);
    expect(url.pathname).toBe("/api/1/bind/prod");
    expect(url.searchParams.get("path")).toBe("/svc/users");
    expect(url.searchParams.get("watch")).toBe("true");
    expect(url.searchParams.get("dtab")).toBe("/svc/users=>/$/inet/127.0.0.1/2 & /$/inet/127.0.0.1/3");
    const seen: string[] = [];
    live.subscribe((b) => seen.push(where(b)));
    fake.send(leafDoc(1));
    fake.send(leafDoc(2));
    await until(() => (where(live.current()) === "127.0.0.1:2" ? true : undefined), "the second document");
    expect(seen).toEqual(["127.0.0.1:1", "127.0.0.1:2"]);
  });

  it("never replaces a good binding with garbage, a malformed document or an exception, and keeps the stream", async () => {
    const log = captureLogger();
    const { fake, interpreter } = await setup({ logger: log.logger });
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await until(() => fake.open.length === 1 || undefined, "the stream");
    fake.send(leafDoc(1));
    await until(() => (where(live.current()) === "127.0.0.1:1" ? true : undefined), "the first binding");
    const seen: string[] = [];
    live.subscribe((b) => seen.push(where(b)));
    fake.send("this is not json");
    fake.send("{\"type\":\"leaf\"");
    fake.send({ type: "leaf", path: "/svc/users", bound: { id: "/$/inet/127.0.0.1/1", path: "/", addr: { type: "bound", addrs: [{ ip: "127.0.0.1", port: "80" }] } } });
    fake.send({ type: "mystery" });
    fake.send([]);
    fake.send({ type: "exception", path: "/svc/users", message: "the dtab loops [DTAB_ERR_MAX_DEPTH]" });
    fake.send(leafDoc(7));
    await until(() => (where(live.current()) === "127.0.0.1:7" ? true : undefined), "the good document after the garbage");
    expect(seen).toEqual(["127.0.0.1:7"]);
    expect(fake.requests).toHaveLength(1);
    const [info] = interpreter.watches();
    expect(info).toMatchObject({ path: "/svc/users", state: "streaming", source: "namer", binding: "ok", connections: 1, documents: 8, rejectedDocuments: 5 });
    expect(log.warnings()).toEqual([
      "the namer sent a malformed bind document; keeping the last good binding",
      "the namer reports the binding failed; keeping the last good binding",
    ]);
  });

  it("reports an exception document as failed when nothing good is known yet, then follows the fix", async () => {
    const { fake, interpreter } = await setup();
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await until(() => fake.open.length === 1 || undefined, "the stream");
    fake.send("garbage first");
    fake.send({ type: "exception", path: "/svc/users", message: "Max recursion level: 100 reached [DTAB_ERR_MAX_DEPTH]" });
    await until(() => (live.current().type === "failed" ? true : undefined), "the failure");
    expect(live.current()).toEqual({ type: "failed", code: "DTAB_ERR_MAX_DEPTH", cause: "Max recursion level: 100 reached" });
    fake.send(leafDoc(3));
    await until(() => (where(live.current()) === "127.0.0.1:3" ? true : undefined), "the fix");
  });

  it("reassembles documents split across chunks, splits several in one chunk, and skips keep-alive lines", async () => {
    const { fake, interpreter } = await setup();
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await until(() => fake.open.length === 1 || undefined, "the stream");
    const seen: string[] = [];
    live.subscribe((b) => seen.push(where(b)));
    const one = Buffer.from(JSON.stringify({ ...leafDoc(1), path: "/svc/ü" }) + "\n");
    fake.write("\n\n");
    fake.write(one.subarray(0, 10));
    // Cut inside the multi-byte ü, too.
    const cut = one.indexOf(Buffer.from("ü")) + 1;
    fake.write(one.subarray(10, cut));
    fake.write(one.subarray(cut));
    fake.write("\n" + JSON.stringify(leafDoc(2)) + "\n\r\n" + JSON.stringify(leafDoc(3)) + "\n");
    await until(() => (seen.length === 3 ? true : undefined), "three documents");
    expect(seen).toEqual(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);
    expect(interpreter.watches()[0]?.rejectedDocuments).toBe(0);
  });

  it("drops a silent stream (dead peer) after the keep-alive timeout and reconnects, keeping the binding", async () => {
    const { fake, interpreter } = await setup({ keepAliveTimeoutMs: 250 });
    fake.first = JSON.stringify(leafDoc(1));
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await until(() => (where(live.current()) === "127.0.0.1:1" ? true : undefined), "the binding");
    await until(() => (fake.requests.length >= 2 ? true : undefined), "a reconnect after the silence");
    expect(fake.streams[0]?.destroyed || fake.streams[0]?.writableEnded).toBe(true);
    expect(where(live.current())).toBe("127.0.0.1:1");
  });

  it("keeps a stream that sends keep-alives within the timeout", async () => {
    const { fake, interpreter } = await setup({ keepAliveTimeoutMs: 400 });
    fake.first = JSON.stringify(leafDoc(1));
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await until(() => (where(live.current()) === "127.0.0.1:1" ? true : undefined), "the binding");
    // Twelve keep-alives 80 ms apart: the stream lives well past two timeouts.
    for (let i = 0; i < 12; i++) {
      fake.write("\n");
      await new Promise((r) => setTimeout(r, 80));
    }
    expect(fake.requests).toHaveLength(1);
    expect(interpreter.watches()[0]?.state).toBe("streaming");
  });

  it("counts keep-alives as health: a pending binding's stream that reconnected starts its backoff over", async () => {
    const { fake, interpreter } = await setup();
    fake.behaviour = "refuse";
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await until(() => ((interpreter.watches()[0]?.failures ?? 0) >= 2 ? true : undefined), "failures");
    fake.behaviour = "stream";
    await until(() => (fake.open.length === 1 ? true : undefined), "the stream");
    expect(interpreter.watches()[0]?.failures).toBeGreaterThan(0);
    fake.write("\n");
    await until(() => (interpreter.watches()[0]?.failures === 0 ? true : undefined), "the backoff reset");
    expect(live.current()).toEqual({ type: "pending" });
    expect(interpreter.watches()[0]).toMatchObject({ state: "streaming", documents: 0, lastError: undefined });
  });

  it("gives up on a connect that gets no response head and tries again", async () => {
    const { fake, interpreter } = await setup({ connectTimeoutMs: 150 });
    fake.behaviour = "hang";
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await until(() => (fake.requests.length >= 2 ? true : undefined), "a second attempt");
    expect(interpreter.watches()[0]?.lastError).toMatch(/no response within 150 ms/);
    fake.behaviour = "stream";
    fake.first = JSON.stringify(leafDoc(4));
    await until(() => (where(live.current()) === "127.0.0.1:4" ? true : undefined), "the binding once the namer answers");
  });

  it("reconnects when the namer ends the stream, and the new stream's answer replaces the old", async () => {
    const { fake, interpreter } = await setup();
    fake.first = JSON.stringify(leafDoc(1));
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await until(() => (where(live.current()) === "127.0.0.1:1" ? true : undefined), "the binding");
    fake.behaviour = "refuse";
    fake.endAll();
    await until(() => (fake.requests.length >= 3 ? true : undefined), "retries while refused");
    expect(where(live.current())).toBe("127.0.0.1:1");
    expect(interpreter.watches()[0]?.state).not.toBe("streaming");
    fake.behaviour = "stream";
    fake.first = JSON.stringify(leafDoc(2));
    await until(() => (where(live.current()) === "127.0.0.1:2" ? true : undefined), "the new stream's answer");
    expect(interpreter.watches()[0]).toMatchObject({ state: "streaming", failures: 0 });
  });

  it("reports a 4xx refusal as failed (with the namer's code) only while nothing good is known; 5xx stays pending", async () => {
    const { fake, interpreter } = await setup();
    fake.behaviour = { status: 503, body: JSON.stringify({ error: { code: "NAMER_ERR_SHUTTING_DOWN", message: "shutting down" } }) };
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await until(() => (fake.requests.length >= 2 ? true : undefined), "retries after 503");
    expect(live.current()).toEqual({ type: "pending" });
    fake.behaviour = { status: 404, body: JSON.stringify({ error: { code: "NAMER_ERR_NO_ROUTE", message: "no API endpoint for GET /api/1/bind/default" } }) };
    await until(() => (live.current().type === "failed" ? true : undefined), "the refusal");
    expect(live.current()).toEqual({ type: "failed", code: "NAMER_ERR_NO_ROUTE", cause: "no API endpoint for GET /api/1/bind/default" });
    fake.behaviour = "stream";
    fake.first = JSON.stringify(leafDoc(5));
    await until(() => (where(live.current()) === "127.0.0.1:5" ? true : undefined), "the binding");
    fake.behaviour = { status: 400, body: "not json at all" };
    const before = fake.requests.length;
    fake.endAll();
    await until(() => (fake.requests.length >= before + 2 ? true : undefined), "retries after 400");
    expect(where(live.current())).toBe("127.0.0.1:5");
  });

  it("drops a stream whose document exceeds the size limit, and keeps the binding", async () => {
    const { fake, interpreter } = await setup({ maxDocumentBytes: 1024 });
    fake.first = JSON.stringify(leafDoc(1));
    const live = interpreter.bind(p("/svc/users"));
    cleanups.push(() => live.close());
    await until(() => (where(live.current()) === "127.0.0.1:1" ? true : undefined), "the binding");
    fake.first = undefined;
    fake.write("x".repeat(600));
    fake.write("y".repeat(600));
    await until(() => (fake.requests.length >= 2 ? true : undefined), "a reconnect");
    expect(interpreter.watches()[0]?.lastError ?? "").toMatch(/longer than 1024 bytes/);
    expect(where(live.current())).toBe("127.0.0.1:1");
  });

  it("wakes streams waiting out a long backoff as soon as another stream finds the namer back", async () => {
    const { fake, interpreter } = await setup({ retry: { baseMs: 20, maxMs: 60_000 }, random: () => 1 });
    fake.behaviour = "refuse";
    const b = interpreter.bind(p("/svc/b"));
    cleanups.push(() => b.close());
    // 20+40+…+640 ms of failures: b's next wait is 1.28 s.
    await until(() => ((interpreter.watches()[0]?.failures ?? 0) >= 7 ? true : undefined), "b failing for a while");
    const a = interpreter.bind(p("/svc/a"));
    cleanups.push(() => a.close());
    await until(() => ((interpreter.watches().find((w) => w.path === "/svc/a")?.failures ?? 0) >= 1 ? true : undefined), "a failing");
    fake.behaviour = "stream";
    fake.first = JSON.stringify(leafDoc(9));
    const back = Date.now();
    await until(() => (where(a.current()) === "127.0.0.1:9" ? true : undefined), "a recovering");
    await until(() => (where(b.current()) === "127.0.0.1:9" ? true : undefined), "b woken up", 5_000);
    expect(Date.now() - back).toBeLessThan(800);
  });

  it("shares one stream per (path, local dtab), closes it when idle, and ends everything on close", async () => {
    const { fake, interpreter } = await setup({ idleMs: 100 });
    fake.first = JSON.stringify(leafDoc(1));
    const one = interpreter.bind(p("/svc/users"));
    const two = interpreter.bind(p("/svc/users"));
    const other = interpreter.bind(p("/svc/users"), Dtab.read("/svc => /$/inet/127.0.0.1/2"));
    await until(() => (where(two.current()) === "127.0.0.1:1" && where(other.current()) === "127.0.0.1:1" ? true : undefined), "bindings");
    expect(fake.requests).toHaveLength(2);
    one.close();
    two.close();
    await until(() => (fake.open.length === 1 ? true : undefined), "the idle stream closed");
    expect(interpreter.cached).toMatchObject({ bindings: 1, activeBindings: 1, snapshot: 2 });
    await interpreter.close();
    await until(() => (fake.open.length === 0 ? true : undefined), "every stream closed");
    expect(() => interpreter.bind(p("/svc/users"))).toThrow(/closed/);
    other.close();
  });

  it("answers a name re-bound after idle eviction with its last good binding while the namer is away", async () => {
    const { fake, interpreter } = await setup({ idleMs: 0 });
    fake.first = JSON.stringify(leafDoc(1));
    const first = interpreter.bind(p("/svc/users"));
    await until(() => (where(first.current()) === "127.0.0.1:1" ? true : undefined), "the binding");
    first.close();
    fake.behaviour = "refuse";
    const again = interpreter.bind(p("/svc/users"));
    cleanups.push(() => again.close());
    expect(where(again.current())).toBe("127.0.0.1:1");
    expect(interpreter.watches()[0]?.source).toBe("snapshot");
  });
});
