// The namer's name API over real sockets, as a real process, with real
// discovery behind it: files (io.l5d.fs), a DNS server we control
// (io.l5d.dnssrv), the registry on a real Redis. Address changes reach
// watching HTTP clients; namespaces created, changed and deleted while
// watched; registry TTL expiry; 500 concurrent watch streams stay correct.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNamerProcess, type NamerProcess } from "../../support/namer.ts";
import { eventually } from "../../support/process.ts";
import { useRedis } from "../../support/redis.ts";
import { WatchStream } from "../../support/watch.ts";
import { TestDnsServer } from "../namers/dns-server.ts";

const dtabText = { "content-type": "application/dtab" };

interface BindDoc {
  type: string;
  path?: string;
  bound?: { id: string; path: string; addr: { type: string; addrs?: { ip: string; port: number; meta: Record<string, unknown> }[] } };
  union?: { weight: number; tree: BindDoc }[];
  message?: string;
}

const ports = (doc: BindDoc): number[] => (doc.bound?.addr.addrs ?? []).map((a) => a.port).sort((a, b) => a - b);

describe("name API (files and DNS)", () => {
  const disco = mkdtempSync(join(tmpdir(), "meshd-names-"));
  let dns: TestDnsServer;
  let namer: NamerProcess;
  let url: string;

  beforeAll(async () => {
    dns = await TestDnsServer.start();
    dns.set("_http._tcp.db.test", { srv: [{ priority: 0, weight: 5, port: 5432, target: "db1.test" }] });
    dns.set("db1.test", { a: ["127.0.0.7"] });
    writeFileSync(join(disco, "users"), "127.0.0.1 8001\n127.0.0.1 8002 * 3\n");
    namer = await startNamerProcess({
      storage: {
        kind: "io.l5d.inMemory",
        namespaces: { default: "/svc => /#/io.l5d.fs ; /svc/db => /#/io.l5d.dnssrv/_http._tcp.db.test ; /svc/split => 0.25*/#/io.l5d.fs/users & 0.75*/$/inet/127.0.0.1/9000" },
      },
      namers: [
        { kind: "io.l5d.fs", rootDir: disco },
        { kind: "io.l5d.dnssrv", dnsHosts: [dns.address], refreshIntervalSeconds: 0.2 },
      ],
      iface: { watchKeepAliveMs: 1000 },
    });
    url = namer.url;
  });

  afterAll(async () => {
    await namer?.stop();
    await dns?.close();
  });

  it("binds a path to a bound tree with addresses and weights", async () => {
    const res = await fetch(`${url}/api/1/bind/default?path=/svc/users/extra`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as BindDoc;
    expect(doc).toMatchObject({ type: "leaf", path: "/svc/users/extra", bound: { id: "/#/io.l5d.fs/users", path: "/extra" } });
    expect(ports(doc)).toEqual([8001, 8002]);
    expect(doc.bound?.addr.addrs?.find((a) => a.port === 8002)?.meta).toMatchObject({ weight: 3 });
    const split = (await (await fetch(`${url}/api/1/bind/default?path=/svc/split`)).json()) as BindDoc;
    expect(split.type).toBe("union");
    expect(split.union?.map((w) => [w.weight, w.tree.bound?.id])).toEqual([
      [0.25, "/#/io.l5d.fs/users"],
      [0.75, "/$/inet/127.0.0.1/9000"],
    ]);
  });

  it("answers addr, resolve, delegate (with and without a namespace) and bound-names", async () => {
    const addr = await (await fetch(`${url}/api/1/addr/default?path=/%23/io.l5d.fs/users`)).json();
    expect(addr).toMatchObject({ type: "bound", addrs: [{ ip: "127.0.0.1", port: 8001 }, { ip: "127.0.0.1", port: 8002 }] });
    const resolved = await (await fetch(`${url}/api/1/resolve/default?path=/svc/users`)).json();
    expect(resolved).toMatchObject({ type: "bound" });
    const delegated = await (await fetch(`${url}/api/1/delegate/default?path=/svc/users`)).json();
    expect(delegated).toMatchObject({ type: "delegate", path: "/svc/users", delegate: { type: "leaf", path: "/#/io.l5d.fs/users", dentry: { prefix: "/svc", dst: "/#/io.l5d.fs" } } });
    const adhoc = await (await fetch(`${url}/api/1/delegate?path=/x/users&dtab=${encodeURIComponent("/x=>/#/io.l5d.fs")}`)).json();
    expect(adhoc).toMatchObject({ type: "delegate", delegate: { type: "leaf", bound: { id: "/#/io.l5d.fs/users" } } });
    const names = (await (await fetch(`${url}/api/1/bound-names`)).json()) as string[];
    expect(names).toContain("/#/io.l5d.fs/users");
  });

  it("answers 400 naming the problem for a bad path or dtab", async () => {
    const noPath = await fetch(`${url}/api/1/bind/default`);
    expect(noPath.status).toBe(400);
    expect(await noPath.json()).toMatchObject({ error: { code: "NAMER_ERR_INVALID_PATH" } });
    const badPath = await fetch(`${url}/api/1/bind/default?path=svc`);
    expect(((await badPath.json()) as { error: { message: string; offset: number } }).error).toMatchObject({ message: expect.stringMatching(/^Invalid path: /), offset: 0 });
    const badDtab = await fetch(`${url}/api/1/bind/default?path=/svc/x&dtab=${encodeURIComponent("/a=>")}`);
    expect(badDtab.status).toBe(400);
    expect(await badDtab.json()).toMatchObject({ error: { code: "NAMER_ERR_INVALID_DTAB", message: expect.stringMatching(/^Invalid dtab: /) } });
  });

  it("streams address changes from files to a watching client, and a half-written file never empties the set", async () => {
    writeFileSync(join(disco, "orders"), "127.0.0.1 7001\n");
    const watch = await WatchStream.open(`${url}/api/1/bind/default?path=/svc/orders&watch=true`);
    await watch.waitForCount(1);
    writeFileSync(join(disco, "orders"), "127.0.0.1 7001\n127.0.0.1 70");
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(join(disco, "orders"), "127.0.0.1 7001\n127.0.0.1 7002\n");
    await watch.waitFor((l) => l.includes("7002"));
    const docs = watch.lines.map((l) => JSON.parse(l) as BindDoc);
    for (const d of docs) expect(ports(d).length).toBeGreaterThan(0);
    expect(ports(docs.at(-1) as BindDoc)).toEqual([7001, 7002]);
    watch.close();
  });

  it("streams DNS changes: SRV answers re-resolved on the interval", async () => {
    const watch = await WatchStream.open(`${url}/api/1/bind/default?path=/svc/db&watch=true`);
    const first = JSON.parse((await watch.waitForCount(1))[0] as string) as BindDoc;
    expect(first.bound?.addr.addrs).toMatchObject([{ ip: "127.0.0.7", port: 5432 }]);
    dns.set("_http._tcp.db.test", {
      srv: [
        { priority: 0, weight: 5, port: 5432, target: "db1.test" },
        { priority: 0, weight: 5, port: 5433, target: "db1.test" },
      ],
    });
    await watch.waitFor((l) => l.includes("5433"));
    watch.close();
  });

  it("streams a namespace created, changed and deleted while watched", async () => {
    const watch = await WatchStream.open(`${url}/api/1/bind/later?path=/svc/users&watch=true`);
    const initial = JSON.parse((await watch.waitForCount(1))[0] as string) as BindDoc;
    expect(initial.type).toBe("neg");
    await fetch(`${url}/api/1/dtabs/later`, { method: "POST", headers: dtabText, body: "/svc=>/#/io.l5d.fs" });
    await watch.waitFor((l) => l.includes("/#/io.l5d.fs/users"));
    await fetch(`${url}/api/1/dtabs/later`, { method: "PUT", headers: { ...dtabText, "if-match": "1" }, body: "/svc=>/$/inet/127.0.0.1/9999" });
    await watch.waitFor((l) => l.includes("/$/inet/127.0.0.1/9999"));
    await fetch(`${url}/api/1/dtabs/later`, { method: "DELETE", headers: { "if-match": "2" } });
    await eventually(() => (JSON.parse(watch.lines.at(-1) as string).type === "neg" && watch.lines.length >= 4 ? true : undefined));
    const types = watch.lines.map((l) => (JSON.parse(l) as BindDoc).type);
    expect(types).toEqual(["neg", "leaf", "leaf", "neg"]);
    watch.close();
  });

  it("keeps 500 concurrent watch streams correct through a change", async () => {
    writeFileSync(join(disco, "many"), "127.0.0.1 6001\n");
    const watches = await Promise.all(Array.from({ length: 500 }, () => WatchStream.open(`${url}/api/1/bind/default?path=/svc/many&watch=true`)));
    await Promise.all(watches.map((w) => w.waitForCount(1)));
    writeFileSync(join(disco, "many"), "127.0.0.1 6001\n127.0.0.1 6002\n");
    await Promise.all(watches.map((w) => w.waitFor((l) => l.includes("6002"), 15_000)));
    for (const w of watches) {
      const docs = w.lines.map((l) => JSON.parse(l) as BindDoc);
      expect(docs.map(ports)).toEqual([[6001], [6001, 6002]]);
      w.close();
    }
    const metrics = await (await fetch(`${namer.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/namer_watch_streams\{resource="bind"\} \d+/);
  });

  it("sends keep-alive lines on an idle stream", async () => {
    const watch = await WatchStream.open(`${url}/api/1/bind/default?path=/svc/users&watch=true`, {}, { keepEmpty: true });
    await watch.waitFor((l) => l === "", 5_000);
    watch.close();
  });
});

describe("registry API on Redis", () => {
  const redis = useRedis();
  let namer: NamerProcess;

  beforeAll(async () => {
    namer = await startNamerProcess({
      storage: { kind: "redis", url: redis().url, prefix: `reg-${process.pid}:`, commandTimeoutMs: 1000 },
      namers: [{ kind: "meshd.registry", defaultTtlSeconds: 1 }],
    });
    await fetch(`${namer.url}/api/1/dtabs/default`, { method: "POST", headers: dtabText, body: "/svc=>/#/registry" });
  });

  afterAll(async () => {
    await namer?.stop();
  });

  it("registers instances with a TTL; expired ones drop out of watched bindings", async () => {
    const register = (port: number, ttlSeconds: number) =>
      fetch(`${namer.url}/api/1/registry/pay`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ host: "127.0.0.1", port, ttlSeconds, meta: { nodeName: "node-a", zone: "z1" } }) });
    expect((await register(5001, 60)).status).toBe(200);
    const watch = await WatchStream.open(`${namer.url}/api/1/bind/default?path=/svc/pay&watch=true`);
    await watch.waitFor((l) => l.includes("5001"));
    const r = await register(5002, 1);
    expect(await r.json()).toMatchObject({ service: "pay", id: "127.0.0.1:5002", ttlSeconds: 1 });
    await watch.waitFor((l) => l.includes("5002"));
    // 5002 stops heartbeating: it expires and the binding loses it.
    await eventually(() => {
      const last = JSON.parse(watch.lines.at(-1) as string) as BindDoc;
      return ports(last).join(",") === "5001" && watch.lines.some((l) => l.includes("5002")) ? true : undefined;
    }, 10_000, "the expiry of 5002");
    const last = JSON.parse(watch.lines.at(-1) as string) as BindDoc;
    expect(last.bound?.addr.addrs?.[0]?.meta).toMatchObject({ nodeName: "node-a", zone: "z1" });
    expect(await (await fetch(`${namer.url}/api/1/registry/pay`)).json()).toMatchObject([{ id: "127.0.0.1:5001" }]);
    expect((await fetch(`${namer.url}/api/1/registry/pay/127.0.0.1:5001`, { method: "DELETE" })).status).toBe(204);
    await eventually(() => (JSON.parse(watch.lines.at(-1) as string).type === "neg" ? true : undefined), 10_000, "the last instance gone");
    expect((await fetch(`${namer.url}/api/1/registry/pay/127.0.0.1:5001`, { method: "DELETE" })).status).toBe(404);
    const bad = await fetch(`${namer.url}/api/1/registry/pay`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ host: "", port: 0 }) });
    expect(bad.status).toBe(400);
    watch.close();
  });
});
