// Routers that learn their bindings from a namer (io.l5d.namerd.http), as
// real processes: a dtab change made with namerctl re-routes live traffic
// with no failed request; a namer outage keeps known names routing and a
// restarted router routes from its snapshot; and the per-host topology —
// two "hosts" on 127.0.0.2 and 127.0.0.3, each with an outgoing and an
// incoming router — carries an app's request to the instance on the other host.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Backend } from "../support/backend.ts";
import { get } from "../support/http.ts";
import { startNamerProcess, type NamerProcess } from "../support/namer.ts";
import { eventually, NAMERCTL, runCli } from "../support/process.ts";
import { freePort } from "../support/redis.ts";
import { startRouterProcess, type RouterProcess } from "../support/router.ts";

const backendOf = (r: { body: string }): string => (JSON.parse(r.body) as { backend: string }).backend;

/** A port free on every one of the given loopback addresses (io.l5d.port sends to the same port on each host). */
async function portFreeOn(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(hosts[0]);
    const ok = await Promise.all(
      hosts.map(
        (h) =>
          new Promise<boolean>((resolve) => {
            const s = createServer();
            s.once("error", () => resolve(false));
            s.listen(port, h, () => s.close(() => resolve(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return port;
  }
  throw new Error("no port free on all hosts");
}

describe("routers on a namer", () => {
  const disco = mkdtempSync(join(tmpdir(), "meshd-rn-"));
  const state = mkdtempSync(join(tmpdir(), "meshd-rn-state-"));
  let v1: Backend;
  let v2: Backend;
  let namer: NamerProcess;
  let router: RouterProcess;
  let url: string;
  let namerPort: number;

  const routerSpec = () => ({
    routers: [
      {
        protocol: "http",
        label: "out",
        bindingTimeoutMs: 1500,
        interpreter: { kind: "io.l5d.namerd.http", dst: `/$/inet/127.0.0.1/${namerPort}`, namespace: "default", stateDir: state, retry: { baseSeconds: 0.2, maxSeconds: 1 } },
        servers: [{}],
      },
    ],
  });

  beforeAll(async () => {
    [v1, v2] = await Promise.all([Backend.start("v1"), Backend.start("v2")]);
    writeFileSync(join(disco, "web-v1"), `${v1.fsLine}\n`);
    writeFileSync(join(disco, "web-v2"), `${v2.fsLine}\n`);
    namer = await startNamerProcess({
      storage: { kind: "io.l5d.inMemory", namespaces: { default: "/svc => /#/io.l5d.fs ; /svc/web => /svc/web-v1" } },
      namers: [{ kind: "io.l5d.fs", rootDir: disco }],
      iface: { watchKeepAliveMs: 500 },
    });
    namerPort = Number(new URL(namer.url).port);
    router = await startRouterProcess(routerSpec());
    url = router.servers[0]?.[0] as string;
  });

  afterAll(async () => {
    await router?.stop("SIGKILL");
    await namer?.stop("SIGKILL");
    await Promise.all([v1, v2].map((b) => b?.stop()));
  });

  it("routes through the namer's dtab and discovery", async () => {
    const r = await get(url, "web");
    expect(r.status).toBe(200);
    expect(backendOf(r)).toBe("v1");
    expect(r.headers["l5d-dst-client"]).toBe("/#/io.l5d.fs/web-v1");
  });

  it("explains names through the namer, and shows its namespace's dtab with the version, on the admin", async () => {
    const admin = router.adminUrl;
    expect((await fetch(`${admin}/ready`)).status).toBe(200);
    const explained = await fetch(`${admin}/delegator.json?path=/svc/web`);
    expect(explained.status).toBe(200);
    const tree = JSON.stringify(await explained.json());
    expect(tree).toContain("/svc/web-v1");
    expect(tree).toContain("/#/io.l5d.fs/web-v1");
    const routers = (await (await fetch(`${admin}/admin/routers.json`)).json()) as { label: string; chain: { source: string; dtab: string; version?: string; error?: string }[] }[];
    const chain = routers.find((r) => r.label === "out")?.chain ?? [];
    expect(chain[0]).toMatchObject({ source: "namer namespace default", dtab: "/svc=>/#/io.l5d.fs;/svc/web=>/svc/web-v1" });
    expect(chain[0]?.version).toMatch(/^\d+$/);
    expect(chain[0]?.error).toBeUndefined();
  });

  it("re-routes live when namerctl changes the dtab, with no failed request", async () => {
    const results: { status: number; backend: string }[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const r = await get(url, "web");
        results.push({ status: r.status, backend: r.status === 200 ? backendOf(r) : r.body });
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const file = join(disco, "new.dtab");
      writeFileSync(file, "/svc => /#/io.l5d.fs ;\n/svc/web => /svc/web-v2 ;\n");
      const applied = await runCli(NAMERCTL, ["dtab", "apply", "default", file], { env: { NAMERCTL_BASE_URL: namer.url } });
      expect(applied.stderr).toBe("");
      expect(applied.code).toBe(0);
      const switched = Date.now();
      while (Date.now() - switched < 3_000 && results.at(-1)?.backend !== "v2") await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      running = false;
      await load;
    }
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(results.at(-1)?.backend).toBe("v2");
    const firstV2 = results.findIndex((r) => r.backend === "v2");
    // Once switched, it stays switched.
    expect(results.slice(firstV2).every((r) => r.backend === "v2")).toBe(true);
  });

  it("keeps routing known names while the namer is down; unknown ones fail with 503 after bindingTimeoutMs; a restarted router routes from its snapshot", async () => {
    expect(backendOf(await get(url, "web"))).toBe("v2");
    writeFileSync(join(disco, "other"), `${v1.fsLine}\n`);
    expect(backendOf(await get(url, "other"))).toBe("v1");
    await namer.stop("SIGKILL");
    for (let i = 0; i < 20; i++) {
      const r = await get(url, "web");
      expect(r.status).toBe(200);
      expect(backendOf(r)).toBe("v2");
    }
    const started = Date.now();
    const unknown = await get(url, "never-seen");
    expect(unknown.status).toBe(503);
    expect(unknown.headers["l5d-err-code"]).toBe("ROUTER_ERR_BINDING_TIMEOUT");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    // Restart the router while the namer is still down: the snapshot on disk carries the bindings.
    await router.stop("SIGTERM");
    router = await startRouterProcess(routerSpec());
    url = router.servers[0]?.[0] as string;
    const r = await get(url, "web");
    expect(r.status).toBe(200);
    expect(backendOf(r)).toBe("v2");
    expect(backendOf(await get(url, "other"))).toBe("v1");
  });
});

describe("per-host topology: outgoing and incoming routers on two hosts", () => {
  const hostA = "127.0.0.2";
  const hostB = "127.0.0.3";
  const disco = mkdtempSync(join(tmpdir(), "meshd-hosts-"));
  let instance: Backend;
  let namer: NamerProcess;
  const routers: RouterProcess[] = [];

  beforeAll(async () => {
    // The service "hello" runs only on host B.
    instance = await Backend.start("hello-on-b", hostB);
    writeFileSync(join(disco, "hello"), `${instance.fsLine}\n`);
    namer = await startNamerProcess({
      storage: { kind: "io.l5d.inMemory", namespaces: { default: "/svc => /#/io.l5d.fs" } },
      namers: [{ kind: "io.l5d.fs", rootDir: disco }],
    });
    const incomingPort = await portFreeOn([hostA, hostB]);
    const dst = `/$/inet/127.0.0.1/${new URL(namer.url).port}`;
    for (const host of [hostA, hostB]) {
      routers.push(
        await startRouterProcess({
          adminIp: host,
          routers: [
            // Outgoing: the app's local router sends to the router on the instance's host.
            { protocol: "http", label: "outgoing", interpreter: { kind: "io.l5d.namerd.http", dst, transformers: [{ kind: "io.l5d.port", port: incomingPort }] }, servers: [{ ip: host }] },
            // Incoming: keeps only the instances on its own host.
            { protocol: "http", label: "incoming", interpreter: { kind: "io.l5d.namerd.http", dst, transformers: [{ kind: "io.l5d.specificHost", host }] }, servers: [{ ip: host, port: incomingPort, clearContext: false }] },
          ],
        }),
      );
    }
  });

  afterAll(async () => {
    for (const r of routers) await r.stop("SIGKILL");
    await namer?.stop("SIGKILL");
    await instance?.stop();
  });

  it("carries a request from the app on host A, through A's outgoing and B's incoming router, to the instance on host B", async () => {
    const outgoingA = routers[0]?.servers[0]?.[0] as string;
    expect(outgoingA).toContain(hostA);
    const r = await get(`${outgoingA}/greet`, "hello");
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ backend: "hello-on-b", url: "/greet", host: "hello" });
    expect(r.headers["l5d-dst-client"]).toMatch(/^\/%\/io\.l5d\.port\/#\/io\.l5d\.fs\/hello$/);
    const seen = instance.seen.at(-1);
    // Both routers are on the way: two Via entries, outgoing first.
    expect(seen?.headers["via"]).toMatch(/^1\.1 meshd-outgoing-[0-9a-f]{8}, 1\.1 meshd-incoming-[0-9a-f]{8}$/);
    // Host B's own outgoing router reaches it too (through B's incoming router).
    const outgoingB = routers[1]?.servers[0]?.[0] as string;
    expect(JSON.parse((await get(outgoingB, "hello")).body)).toMatchObject({ backend: "hello-on-b" });
  });
});

describe("a router's readiness on a namer", () => {
  it("is not ready until its namer answers (or saved bindings exist), then is", async () => {
    const namerPort = await freePort();
    const router = await startRouterProcess({
      waitReady: false,
      routers: [{ protocol: "http", label: "out", interpreter: { kind: "io.l5d.namerd.http", dst: `/$/inet/127.0.0.1/${namerPort}`, namespace: "default", retry: { baseSeconds: 0.2, maxSeconds: 1 } }, servers: [{}] }],
    });
    let namer: NamerProcess | undefined;
    try {
      const before = await fetch(`${router.adminUrl}/ready`);
      expect(before.status).toBe(503);
      expect(JSON.stringify(await before.json())).toContain(`the namer at http://127.0.0.1:${namerPort} has not answered yet`);
      namer = await startNamerProcess({ port: namerPort, storage: { kind: "io.l5d.inMemory", namespaces: { default: "/svc => /$/inet/127.0.0.1" } } });
      await eventually(async () => ((await fetch(`${router.adminUrl}/ready`)).status === 200 ? true : undefined), 10_000, "router /ready after the namer came up");
      // Once reached, a namer outage does not make it unready: known names keep routing.
      await namer.stop();
      namer = undefined;
      await new Promise((r) => setTimeout(r, 600));
      expect((await fetch(`${router.adminUrl}/ready`)).status).toBe(200);
    } finally {
      await namer?.stop();
      await router.stop();
    }
  });
});
