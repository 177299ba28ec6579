// namerctl register, deregister and instances end to end: real namerctl
// processes against a real `meshd namer` process with a meshd.registry
// namer; a heartbeat that outlives its TTL and deregisters on SIGINT, a
// live instances --watch, bad input, and a namer with no registry.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Instance } from "../../../namer/ctl/answers.ts";
import { startNamerProcess, type NamerProcess } from "../../support/namer.ts";
import { eventually, ManagedProcess, NAMERCTL, runCli, type RunResult } from "../../support/process.ts";

let namer: NamerProcess;

const env = (url: string): Record<string, string | undefined> => ({ NAMERCTL_BASE_URL: url, NAMERCTL_TOKEN: undefined, NO_COLOR: "1", USER: "alice" });

function ctl(args: readonly string[], url = namer.url): Promise<RunResult> {
  return runCli(NAMERCTL, args, { env: env(url) });
}

function ok(r: RunResult): RunResult {
  expect(r.stderr, r.stdout).toBe("");
  expect(r.code).toBe(0);
  return r;
}

/** The live instances as the namer has them, read over HTTP without namerctl. */
async function live(service: string): Promise<Instance[]> {
  return (await (await fetch(`${namer.url}/api/1/registry/${service}`)).json()) as Instance[];
}

beforeAll(async () => {
  namer = await startNamerProcess({
    storage: { kind: "io.l5d.inMemory", namespaces: { default: "/svc => /#/registry" } },
    namers: [{ kind: "meshd.registry" }],
    iface: { watchKeepAliveMs: 200 },
  });
});

afterAll(async () => {
  await namer?.stop();
});

describe("namerctl register, instances, deregister", () => {
  it("registers with ttl and meta, lists the instances as a table and JSON, and deregisters", async () => {
    const reg = ok(await ctl(["register", "users", "127.0.0.1:8080", "--ttl", "120", "--meta", "zone=eu-1a", "nodeName=node-7", "weight=2", "--meta", "version=1.2"]));
    expect(reg.stdout).toMatch(/^registered users 127\.0\.0\.1:8080: it expires at \d{4}-\d\d-\d\dT[\d:.]+Z \(ttl 120s\) unless it registers again \(--heartbeat does\)\n$/);
    const v6 = JSON.parse(ok(await ctl(["register", "users", "[::1]:8081", "--json"])).stdout) as Instance;
    expect(v6).toMatchObject({ service: "users", id: "[::1]:8081", host: "::1", port: 8081, ttlSeconds: 30, meta: {} });
    expect((await live("users")).find((i) => i.id === "127.0.0.1:8080")?.meta).toEqual({ zone: "eu-1a", nodeName: "node-7", weight: 2, version: "1.2" });

    const table = ok(await ctl(["instances", "users"])).stdout.split("\n");
    expect(table[0]).toBe("ID              ZONE   NODE    WEIGHT  EXPIRES IN  META");
    expect(table[1]).toMatch(/^127\.0\.0\.1:8080 {2}eu-1a {2}node-7 {2}2 {7}(1m5\ds|2m00s) {7}version=1\.2$/);
    expect(table[2]).toMatch(/^\[::1\]:8081 {6}- {6}- {7}1 {7}(2\ds|30s)$/);
    const json = JSON.parse(ok(await ctl(["instances", "users", "--json"])).stdout) as Instance[];
    expect(json.map((i) => i.id)).toEqual(["127.0.0.1:8080", "[::1]:8081"]);

    // The registry's view through the namer: the meta reaches the bound addresses.
    const bound = ok(await ctl(["bind", "default", "/svc/users"])).stdout;
    expect(bound).toContain("127.0.0.1:8080  weight=2 zone=eu-1a nodeName=node-7 version=1.2\n");

    expect(ok(await ctl(["deregister", "users", "[::1]:8081"])).stdout).toBe("deregistered users [::1]:8081\n");
    expect(JSON.parse(ok(await ctl(["deregister", "users", "127.0.0.1:8080", "--json"])).stdout)).toEqual({ service: "users", id: "127.0.0.1:8080", deregistered: true });
    expect(await live("users")).toEqual([]);
    expect(ok(await ctl(["instances", "users"])).stdout).toBe("no live instances of users\n");
  });

  it("--heartbeat keeps an instance alive past its TTL while one without expires, and SIGINT deregisters it (exit 0)", async () => {
    const hb = new ManagedProcess(NAMERCTL, ["register", "beats", "127.0.0.1:9100", "--ttl", "1", "--heartbeat", "--meta", "zone=z1"], env(namer.url));
    try {
      await hb.waitFor("heartbeating every 333 ms until interrupted, then deregistering\n");
      const first = (await live("beats"))[0];
      expect(first).toMatchObject({ id: "127.0.0.1:9100", ttlSeconds: 1, meta: { zone: "z1" } });
      // A neighbour registered once with the same TTL: its expiry shows how long a second is here.
      ok(await ctl(["register", "beats", "127.0.0.1:9101", "--ttl", "1"]));
      await eventually(async () => ((await live("beats")).some((i) => i.id === "127.0.0.1:9101") ? undefined : true), 10_000, "the instance without a heartbeat to expire");
      // Beyond two TTLs since it registered, the heartbeating one is the same registration, never expired.
      await eventually(async () => (Date.now() - Date.parse(first?.registeredAt ?? "") > 2_500 ? true : undefined), 10_000, "two TTLs to pass");
      const now = await live("beats");
      expect(now.map((i) => i.id)).toEqual(["127.0.0.1:9100"]);
      expect(now[0]?.registeredAt).toBe(first?.registeredAt);
      expect(Date.parse(now[0]?.expiresAt ?? "")).toBeGreaterThan(Date.parse(first?.expiresAt ?? ""));

      expect(await hb.stop("SIGINT")).toBe(0);
      expect(hb.output).toMatch(/deregistered beats 127\.0\.0\.1:9100\n$/);
      expect(await live("beats")).toEqual([]);
    } finally {
      await hb.stop("SIGKILL");
    }
  });

  it("--heartbeat --json prints the instance, then the deregistration, one JSON line each", async () => {
    const hb = new ManagedProcess(NAMERCTL, ["register", "beats-json", "127.0.0.1:9200", "--heartbeat", "--json"], env(namer.url));
    try {
      await hb.waitFor("}\n");
      expect(await hb.stop("SIGINT")).toBe(0);
      const lines = hb.output.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ service: "beats-json", id: "127.0.0.1:9200", ttlSeconds: 30 });
      expect(lines[1]).toEqual({ service: "beats-json", id: "127.0.0.1:9200", deregistered: true });
    } finally {
      await hb.stop("SIGKILL");
    }
  });

  it("instances --watch shows each change, a timestamped line between, until SIGINT", async () => {
    const w = new ManagedProcess(NAMERCTL, ["instances", "carts", "--watch"], env(namer.url));
    try {
      await w.waitFor("no live instances of carts\n");
      ok(await ctl(["register", "carts", "127.0.0.1:7000", "--meta", "nodeName=n1"]));
      await w.waitFor(/127\.0\.0\.1:7000 {2}- {5}n1 {4}1 {7}\d+s\n/);
      ok(await ctl(["deregister", "carts", "127.0.0.1:7000"]));
      await eventually(() => (w.output.trimEnd().endsWith("no live instances of carts") && w.output.split("\n--- ").length === 3 ? true : undefined), 10_000, "the instance to go");
      expect(w.output).toMatch(/^no live instances of carts\n--- \d{4}-\d\d-\d\dT[\d:.]+Z ---\nID {14}ZONE {2}NODE {2}WEIGHT {2}EXPIRES IN\n127\.0\.0\.1:7000.*\n--- [\d\-T:.Z]+ ---\nno live instances of carts\n$/);
      expect(await w.stop("SIGINT")).toBe(0);
    } finally {
      await w.stop("SIGKILL");
    }
  });
});

describe("namerctl registry failures", () => {
  it("exits 2 for a bad HOST:PORT, service name, --ttl or --meta, before any request", async () => {
    const cases: Array<[readonly string[], string]> = [
      [["register", "users", "10.0.0.1"], "give HOST:PORT, e.g. 10.0.0.1:8080"],
      [["register", "users", "10.0.0.1:http"], "give HOST:PORT"],
      [["register", "users", "10.0.0.1:70000"], "the port must be 1–65535, not 70000"],
      [["register", "users", "fd00::1:8080"], "put an IPv6 address in brackets, e.g. [fd00::1]:8080"],
      [["deregister", "users", "a b:80"], "give HOST:PORT"],
      [["register", "..", "10.0.0.1:80"], "a service name is"],
      [["instances", "us/ers"], "a service name is"],
      [["register", "users", "10.0.0.1:80", "--ttl", "0"], "give the TTL in seconds"],
      [["register", "users", "10.0.0.1:80", "--meta", "zone"], "give meta as key=value"],
      [["register", "users", "10.0.0.1:80", "--meta", "weight=heavy"], "weight must be a number above 0"],
      [["register", "users", "10.0.0.1:80", "--meta", "zone=a", "--meta", "zone=b"], "meta zone is given twice"],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(args, "http://127.0.0.1:9");
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr, args.join(" ")).toMatch(/^namerctl: /);
      expect(r.stderr, args.join(" ")).toContain(message);
    }
  });

  it("shows the namer's own message for a registration it refuses (exit 1)", async () => {
    const r = await ctl(["register", "users", "127.0.0.1:80", "--ttl", "7200"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("namerctl: register users 127.0.0.1:80: registration: `ttlSeconds` must be a number above 0 and at most 3600 [NAMER_ERR_INVALID_REQUEST]\n");
  });

  it("fails (exit 1) to deregister an instance that is not registered", async () => {
    const r = await ctl(["deregister", "users", "127.0.0.1:1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("namerctl: deregister users 127.0.0.1:1: not found: no live instance 127.0.0.1:1 of users [NAMER_ERR_NOT_FOUND]\n");
  });

  it("says the namer has no registry when it has none", async () => {
    const bare = await startNamerProcess();
    try {
      for (const args of [["register", "users", "127.0.0.1:80"], ["deregister", "users", "127.0.0.1:80"], ["instances", "users"], ["instances", "users", "--watch", "--json"]]) {
        const r = await ctl(args, bare.url);
        expect(r.code, args.join(" ")).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toBe(`namerctl: ${args[0]} users${args[0] === "instances" ? "" : " 127.0.0.1:80"}: this namer has no registry (configure a meshd.registry namer)\n`);
      }
    } finally {
      await bare.stop();
    }
  });
});
