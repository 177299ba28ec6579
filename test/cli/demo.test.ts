// `npm start` as a new user runs it: a real `npm` process (meshd demo: a
// namer, a router and three services, no Redis) that prints a ready line,
// routes by Host, follows a weight shift made with namerctl, honours a
// per-request l5d-dtab, and on Ctrl-C (SIGINT to its process group) stops
// with nothing left running and its ports free.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, NAMERCTL, runCli } from "../support/process.ts";
import { freePort } from "../support/redis.ts";

const root = new URL("../..", import.meta.url).pathname;

function get(port: number, host: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/", headers: { host, ...headers }, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Whether anything in the process group is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

describe("npm start", () => {
  let child: ChildProcess;
  let output = "";
  const ports = { namer: 0, namerAdmin: 0, router: 0, routerAdmin: 0 };
  let namer = "";

  beforeAll(async () => {
    ports.namer = await freePort();
    ports.namerAdmin = await freePort();
    ports.router = await freePort();
    ports.routerAdmin = await freePort();
    namer = `http://127.0.0.1:${ports.namer}`;
    const dataDir = join(mkdtempSync(join(tmpdir(), "meshd-demo-")), "data");
    const args = ["start", "--", "--data-dir", dataDir, "--port", String(ports.namer), "--admin-port", String(ports.namerAdmin), "--router-port", String(ports.router), "--router-admin-port", String(ports.routerAdmin)];
    // Its own process group, as a terminal gives it, so Ctrl-C can be sent to the whole tree.
    child = spawn("npm", args, { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    await eventually(() => (output.includes("meshd demo is ready") ? true : undefined), 30_000, `the ready line; output so far:\n${output}`);
  });

  afterAll(() => {
    if (child?.pid !== undefined && groupAlive(child.pid)) process.kill(-child.pid, "SIGKILL");
  });

  it("prints where everything is and commands that name its real ports", () => {
    expect(output).toContain(`router         http://127.0.0.1:${ports.router}`);
    expect(output).toContain(`dashboard      http://127.0.0.1:${ports.routerAdmin}/`);
    expect(output).toContain(`namer API      ${namer}`);
    expect(output).toContain(`npx namerctl dtab apply default examples/dtabs/default.dtab --namer ${namer}`);
    // Nothing but loopback addresses.
    for (const url of output.match(/https?:\/\/[^\s/:]+/g) ?? []) expect(url).toMatch(/^http:\/\/127\.0\.0\.1$/);
  });

  it("routes by Host, shifts 10% of web to the canary with namerctl, and honours l5d-dtab", async () => {
    expect(await get(ports.router, "web")).toEqual({ status: 200, body: "Hello from web v1 (stable)\n" });
    expect(await get(ports.router, "api")).toEqual({ status: 200, body: "Hello from api\n" });
    expect((await get(ports.router, "nowhere")).status).toBe(502);

    const applied = await runCli(NAMERCTL, ["dtab", "apply", "default", "examples/dtabs/default.dtab", "--namer", namer, "--json"], { cwd: root });
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ namespace: "default", result: "updated", version: "2" });

    // The router hears of the change over its watch; then about 1 in 10 goes to the canary.
    await eventually(async () => ((await get(ports.router, "web")).body.includes("canary") ? true : undefined), 10_000, "a request reaching the canary");
    const counts = { stable: 0, canary: 0 };
    for (let i = 0; i < 400; i++) {
      const { status, body } = await get(ports.router, "web");
      expect(status).toBe(200);
      if (body.includes("canary")) counts.canary++;
      else counts.stable++;
    }
    expect(counts.canary / 400).toBeGreaterThan(0.05);
    expect(counts.canary / 400).toBeLessThan(0.16);

    expect((await get(ports.router, "web", { "l5d-dtab": "/svc/web => /#/io.l5d.fs/web-canary" })).body).toBe("Hello from web v2 (canary)\n");
  });

  it("stops everything on Ctrl-C: a clean stop, no process left, ports free", async () => {
    const pid = child.pid as number;
    const exited = once(child, "exit");
    process.kill(-pid, "SIGINT");
    // npm itself ends by the signal, as it does in a terminal; meshd under it shuts down in order.
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect(code === 0 || signal === "SIGINT").toBe(true);
    await eventually(() => (groupAlive(pid) ? undefined : true), 10_000, "every process of the group to exit");
    expect(output).toContain("meshd demo stopped.");
    expect(output).not.toMatch(/"level":(50|60)/);
    for (const port of Object.values(ports)) expect(await portFree(port)).toBe(true);
  });
});
