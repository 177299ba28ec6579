// `meshd namer` as a real process: the minimal configs, validation
// errors, admin endpoints, graceful SIGTERM, restart from the embedded
// store's data dir, and Redis: replicas seeing each other's writes, and an
// outage during which reads keep working, writes fail fast with 503, and
// everything converges once Redis is back.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startNamerProcess, type NamerProcess } from "../support/namer.ts";
import { MESHD, eventually, runCli } from "../support/process.ts";
import { persistentArgs, useRedis } from "../support/redis.ts";
import { WatchStream } from "../support/watch.ts";

const namers: NamerProcess[] = [];
afterEach(async () => {
  await Promise.all(namers.splice(0).map((n) => n.stop("SIGKILL")));
});

async function namer(options: Parameters<typeof startNamerProcess>[0] = {}): Promise<NamerProcess> {
  const n = await startNamerProcess(options);
  namers.push(n);
  return n;
}

const dtabText = { "content-type": "application/dtab" };
const put = (url: string, ns: string, version: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/api/1/dtabs/${ns}`, { method: "PUT", headers: { ...dtabText, "if-match": version, ...headers }, body });

describe("meshd validate", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshd-validate-"));

  it("accepts the issue's minimal Redis config as written", async () => {
    const file = join(dir, "minimal.yaml");
    writeFileSync(
      file,
      [
        'storage: { kind: redis, url: "redis://127.0.0.1:6379" }',
        "interfaces:",
        '  - { kind: io.l5d.httpController, ip: 127.0.0.1, port: 4180, writeTokens: ["${NAMER_TOKEN}"] }',
        "admin: { ip: 127.0.0.1, port: 9991 }",
        "",
      ].join("\n"),
    );
    const ok = await runCli(MESHD, ["validate", "--config", file], { env: { NAMER_TOKEN: "t0ken" } });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("ok (namer: storage redis, 1 interface(s), admin 127.0.0.1:9991)");
    const json = await runCli(MESHD, ["validate", "--config", file, "--json"], { env: { NAMER_TOKEN: "t0ken" } });
    expect(json.stdout).not.toContain("t0ken");
    expect(JSON.parse(json.stdout)).toMatchObject({ interfaces: [{ port: 4180, writeTokens: ["[redacted]"] }], storage: { kind: "redis", prefix: "meshd:" } });
    const unset = await runCli(MESHD, ["validate", "--config", file], { env: { NAMER_TOKEN: undefined } });
    expect(unset.code).toBe(1);
    expect(unset.stderr).toContain(`${file}:3:`);
    expect(unset.stderr).toContain("interfaces[0].writeTokens[0]: environment variable NAMER_TOKEN is not set");
  });

  it("names the line, column and YAML path of every mistake", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "storage:\n  kind: memory\n  dataDri: /tmp/x\ninterfaces:\n  - kind: io.l5d.httpController\n    port: 70000\n");
    const res = await runCli(MESHD, ["validate", "--config", file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${file}:3:3: storage.dataDri: unknown key (did you mean 'dataDir'?)`);
    expect(res.stderr).toContain(`${file}:6:11: interfaces[0].port: must be at most 65535`);
    const missing = await runCli(MESHD, ["validate", "--config", join(dir, "nope.yaml")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cannot read the config");
  });
});

describe("meshd namer (embedded store)", () => {
  it("serves the API and the admin endpoints", async () => {
    const n = await namer();
    expect(await (await fetch(`${n.adminUrl}/admin/ping`)).text()).toBe("pong");
    expect((await fetch(`${n.adminUrl}/live`)).status).toBe(200);
    expect(await (await fetch(`${n.adminUrl}/ready`)).json()).toMatchObject({ ready: true, store: { writable: true, synced: true } });
    const created = await fetch(`${n.url}/api/1/dtabs/default`, { method: "POST", headers: dtabText, body: "/svc=>/#/io.l5d.fs" });
    expect(created.status).toBe(204);
    const metrics = await (await fetch(`${n.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/namer_dtab_writes_total\{action="create",result="ok"\} 1/);
    expect(metrics).toMatch(/namer_store_writable 1/);
    expect(metrics).toMatch(/namer_http_requests_total\{method="POST",route="\/api\/1\/dtabs\/:ns",status="204"\} 1/);
    expect(metrics).toContain("process_resident_memory_bytes");
  });

  it("ends watch streams and exits 0 on SIGTERM", async () => {
    const n = await namer();
    await fetch(`${n.url}/api/1/dtabs/default`, { method: "POST", headers: dtabText, body: "/a=>/b" });
    const watch = await WatchStream.open(`${n.url}/api/1/dtabs/default?watch=true`);
    await watch.waitForCount(1);
    const started = Date.now();
    expect(await n.stop("SIGTERM")).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    await watch.waitEnded();
    expect(n.process.output).toContain('"msg":"namer stopped"');
  });

  it("keeps dtabs, versions and history across a restart when given a data dir", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "meshd-data-"));
    const first = await namer({ storage: { kind: "io.l5d.inMemory", dataDir } });
    await fetch(`${first.url}/api/1/dtabs/default`, { method: "POST", headers: dtabText, body: "/a=>/v1" });
    await put(first.url, "default", "1", "/a=>/v2");
    expect(await first.stop()).toBe(0);
    const second = await namer({ storage: { kind: "io.l5d.inMemory", dataDir } });
    const got = await fetch(`${second.url}/api/1/dtabs/default`, { headers: { accept: "application/dtab" } });
    expect(got.headers.get("etag")).toBe("2");
    expect(await got.text()).toBe("/a=>/v2\n");
    expect(((await (await fetch(`${second.url}/api/1/dtabs/default/history`)).json()) as unknown[]).length).toBe(2);
  });

  it("never logs write tokens", async () => {
    const n = await namer({ iface: { writeTokens: ["${NAMER_TOKEN}"] }, env: { NAMER_TOKEN: "super-secret-token-123" } });
    const ok = await fetch(`${n.url}/api/1/dtabs/default`, { method: "POST", headers: { ...dtabText, authorization: "Bearer super-secret-token-123" }, body: "/a=>/b" });
    expect(ok.status).toBe(204);
    await fetch(`${n.url}/api/1/dtabs/other`, { method: "POST", headers: { ...dtabText, authorization: "Bearer wrong-guess" }, body: "/a=>/b" });
    await n.stop();
    expect(n.process.output).toContain("dtab create");
    expect(n.process.output).not.toContain("super-secret-token-123");
    expect(n.process.output).not.toContain("wrong-guess");
  });
});

let prefixCounter = 0;
const redisStorage = (url: string) => ({ kind: "redis", url, prefix: `meshd-test-${process.pid}-${++prefixCounter}:`, commandTimeoutMs: 1000, versionCheckIntervalMs: 500 });

describe("meshd namer on Redis", () => {
  // Durable across kill/start, like a real Redis with an append-only file.
  const redis = useRedis(persistentArgs());
  const storage = () => redisStorage(redis().url);

  it("two namer replicas see each other's writes through Redis", async () => {
    const s = storage();
    const a = await namer({ storage: s });
    const b = await namer({ storage: s });
    const watch = await WatchStream.open(`${b.url}/api/1/dtabs/shared?watch=true&versioned=true`);
    await watch.waitForCount(1);
    expect((await fetch(`${a.url}/api/1/dtabs/shared`, { method: "POST", headers: dtabText, body: "/a=>/one" })).status).toBe(204);
    expect((await put(a.url, "shared", "1", "/a=>/two")).status).toBe(204);
    await watch.waitFor((l) => l.includes('"version":"2"'));
    const versions = watch.lines.map((l) => (JSON.parse(l) as { version: string | null }).version);
    expect(versions).toEqual([null, "1", "2"]);
    expect(await (await fetch(`${b.url}/api/1/dtabs`)).json()).toEqual(["shared"]);
    watch.close();
  });

  it("keeps serving reads during an outage, fails writes fast with 503, and converges after", async () => {
    const s = storage();
    const n = await namer({ storage: s });
    await fetch(`${n.url}/api/1/dtabs/default`, { method: "POST", headers: dtabText, body: "/svc=>/before" });
    const watch = await WatchStream.open(`${n.url}/api/1/dtabs/default?watch=true&versioned=true`);
    await watch.waitForCount(1);

    await redis().kill();
    // Reads: the last known state.
    const read = await fetch(`${n.url}/api/1/dtabs/default`, { headers: { accept: "application/dtab" } });
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("/svc=>/before\n");
    expect(await (await fetch(`${n.url}/api/1/dtabs`)).json()).toEqual(["default"]);
    // Writes: refused quickly, with a message that says why.
    const started = Date.now();
    const refused = await eventually(async () => {
      const res = await put(n.url, "default", "1", "/svc=>/during");
      return res.status === 503 ? res : undefined;
    }, 5_000, "a 503 while Redis is down");
    expect(Date.now() - started).toBeLessThan(3_000);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("NAMER_ERR_STORE_UNAVAILABLE");
    expect(body.error.message).toContain("127.0.0.1");
    // Ready stays up: the namer still has its snapshot (a Redis blip must not drain the mesh).
    expect((await fetch(`${n.adminUrl}/ready`)).status).toBe(200);
    expect(await (await fetch(`${n.adminUrl}/metrics`)).text()).toMatch(/namer_store_writable 0/);

    await redis().start();
    const written = await eventually(async () => {
      const res = await put(n.url, "default", "1", "/svc=>/after");
      return res.status === 204 ? res : undefined;
    }, 15_000, "writes to recover");
    expect(written.headers.get("etag")).toBe("2");
    await watch.waitFor((l) => l.includes('"version":"2"'));
    const last = JSON.parse(watch.lines.at(-1) as string) as { dtab: { dst: string }[] };
    expect(last.dtab[0]?.dst).toBe("/after");
    watch.close();
  });

});

describe("meshd namer on a Redis that restarts empty", () => {
  const redis = useRedis();

  it("keeps what it knows while Redis is down and when it comes back empty", async () => {
    const s = redisStorage(redis().url);
    const n = await namer({ storage: s });
    await fetch(`${n.url}/api/1/dtabs/keep`, { method: "POST", headers: dtabText, body: "/a=>/b" });
    // This Redis keeps nothing across a restart. Neither the failed reads while it is down nor the
    // empty snapshot after it is back may make the namer drop a dtab routers depend on.
    await redis().kill();
    expect((await fetch(`${n.url}/api/1/dtabs/keep`)).status).toBe(200);
    await redis().start();
    await eventually(() => (n.process.output.includes("dtab store returned no namespaces at all") ? true : undefined), 15_000, "the empty snapshot warning");
    const after = await fetch(`${n.url}/api/1/dtabs/keep`, { headers: { accept: "application/dtab" } });
    expect(after.status).toBe(200);
    expect(await after.text()).toBe("/a=>/b\n");
    expect((await fetch(`${n.adminUrl}/ready`)).status).toBe(200);
  });
});
