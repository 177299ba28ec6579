// The router process's life: the minimal fs config works as
// written, SIGTERM drains in-flight requests before exiting, SIGHUP reloads
// dtabs and listeners without dropping connections, and a bad reload keeps
// the running configuration.
import { mkdtempSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { Backend } from "../support/backend.ts";
import { get } from "../support/http.ts";
import { ManagedProcess, MESHD, eventually, runCli } from "../support/process.ts";
import { freePort } from "../support/redis.ts";
import { startRouterProcess, type RouterProcess } from "../support/router.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

describe("meshd router", () => {
  it("runs the issue's minimal io.l5d.fs config as written (from its directory)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meshd-min-"));
    const backend = await Backend.start("svc");
    cleanup.push(() => backend.stop());
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(dir, "disco"));
    writeFileSync(join(dir, "disco", "hello"), `${backend.fsLine}\n`);
    const port = await freePort();
    const admin = await freePort();
    writeFileSync(
      join(dir, "router.yaml"),
      [`admin: { ip: 127.0.0.1, port: ${admin} }`, "namers: [{ kind: io.l5d.fs, rootDir: disco }]", "routers:", "  - protocol: http", "    dtab: /svc => /#/io.l5d.fs", `    servers: [{ ip: 127.0.0.1, port: ${port} }]`, ""].join("\n"),
    );
    const validated = await runCli(MESHD, ["validate", "--config", join(dir, "router.yaml")]);
    expect(validated.stdout).toContain("ok (router: 1 router(s), 1 server(s)");
    // The fs namer's rootDir is relative to where meshd runs.
    const proc = new ManagedProcess(MESHD, ["router", "--config", "router.yaml"], {}, dir);
    cleanup.push(() => proc.stop("SIGKILL"));
    await proc.waitFor("router admin listening");
    const r = await get(`http://127.0.0.1:${port}/`, "hello");
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ backend: "svc" });
  });

  it("drains in-flight requests on SIGTERM, refuses new connections, then exits 0", async () => {
    const slow = await Backend.start("slow");
    cleanup.push(() => slow.stop());
    const disco = mkdtempSync(join(tmpdir(), "meshd-drain-"));
    writeFileSync(join(disco, "slow"), `${slow.fsLine}\n`);
    const router = await startRouterProcess({ namers: [{ kind: "io.l5d.fs", rootDir: disco }], routers: [{ protocol: "http", dtab: "/svc=>/#/io.l5d.fs", servers: [{}] }] });
    cleanup.push(() => router.stop("SIGKILL"));
    const url = router.servers[0]?.[0] as string;
    slow.mode = { kind: "delay", ms: 800 };
    const inFlight = get(url, "slow");
    await eventually(() => (slow.seen.length > 0 ? true : undefined));
    const stopping = router.stop("SIGTERM");
    await router.process.waitFor("router shutting down");
    await expect(get(url, "slow")).rejects.toThrow(/ECONNREFUSED/);
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ backend: "slow", delayed: 800 });
    expect(await stopping).toBe(0);
    expect(router.process.output).toContain('"msg":"router stopped"');
  });
});

describe("SIGHUP", () => {
  let router: RouterProcess | undefined;
  afterEach(async () => {
    await router?.stop("SIGKILL");
  });

  it("reloads the dtab and listeners without dropping open connections; a bad config is refused", async () => {
    const a = await Backend.start("a");
    const b = await Backend.start("b");
    cleanup.push(() => a.stop(), () => b.stop());
    const disco = mkdtempSync(join(tmpdir(), "meshd-hup-"));
    writeFileSync(join(disco, "a"), `${a.fsLine}\n`);
    writeFileSync(join(disco, "b"), `${b.fsLine}\n`);
    router = await startRouterProcess({ namers: [{ kind: "io.l5d.fs", rootDir: disco }], routers: [{ protocol: "http", dtab: "/svc=>/#/io.l5d.fs;/svc/x=>/svc/a", servers: [{}] }] });
    const url = router.servers[0]?.[0] as string;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect(JSON.parse((await get(url, "x", { agent })).body)).toMatchObject({ backend: "a" });
    const extra = await freePort();
    const { parse } = await import("yaml");
    const { readFileSync } = await import("node:fs");
    const config = parse(readFileSync(router.configFile, "utf8")) as { routers: { dtab: string; servers: unknown[] }[] };
    (config.routers[0] as { dtab: string }).dtab = "/svc=>/#/io.l5d.fs;/svc/x=>/svc/b";
    (config.routers[0] as { servers: unknown[] }).servers.push({ ip: "127.0.0.1", port: extra });
    writeFileSync(router.configFile, stringify(config));
    router.process.child.kill("SIGHUP");
    await router.process.waitFor("configuration reloaded");
    // The same keep-alive connection now routes by the new dtab; the new listener answers too.
    expect(JSON.parse((await get(url, "x", { agent })).body)).toMatchObject({ backend: "b" });
    expect(JSON.parse((await get(`http://127.0.0.1:${extra}/`, "x")).body)).toMatchObject({ backend: "b" });
    writeFileSync(router.configFile, "routers: [ {protocol: http, servers: [{port: nope}]} ]\n");
    router.process.child.kill("SIGHUP");
    await router.process.waitFor("reload failed; keeping the running configuration");
    expect(JSON.parse((await get(url, "x", { agent })).body)).toMatchObject({ backend: "b" });
    agent.destroy();
  });
});
