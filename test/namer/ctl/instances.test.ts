// The registry verbs' pure parts: HOST:PORT, --ttl and --meta as typed, the
// instances table with its time left, and the heartbeat loop driven by an
// injected sleep (no clock): its interval, retries through a namer that is
// away, and the failures it will not retry.
import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import type { Instance } from "../../../namer/ctl/answers.ts";
import { ApiError, UnreachableError } from "../../../namer/ctl/errors.ts";
import { heartbeatInterval, isTransient, keepRegistered, MIN_HEARTBEAT_MS, sleep } from "../../../namer/ctl/heartbeat.ts";
import { formatInstances, formatRemaining, parseHostPort, parseMeta, parseService, parseTtl } from "../../../namer/ctl/instances.ts";

const instance = (id: string, meta: Record<string, string | number> = {}, expiresAt = "2030-01-01T00:01:00.000Z", ttlSeconds = 30): Instance => {
  const [host, port] = id.startsWith("[") ? [id.slice(1, id.indexOf("]")), Number(id.slice(id.indexOf("]") + 2))] : [id.split(":")[0] ?? "", Number(id.split(":")[1])];
  return { service: "web", id, host, port, ttlSeconds, meta, registeredAt: "2030-01-01T00:00:00.000Z", expiresAt };
};

describe("parseHostPort", () => {
  it("reads host:port and [v6]:port, naming the instance as the registry does", () => {
    expect(parseHostPort("10.0.0.1:8080")).toEqual({ host: "10.0.0.1", port: 8080, id: "10.0.0.1:8080" });
    expect(parseHostPort("users-1.internal:1")).toEqual({ host: "users-1.internal", port: 1, id: "users-1.internal:1" });
    expect(parseHostPort("[fd00::1]:65535")).toEqual({ host: "fd00::1", port: 65535, id: "[fd00::1]:65535" });
  });

  it("refuses anything else with a hint", () => {
    for (const bad of ["10.0.0.1", ":80", "host:", "host:0", "host:65536", "a b:80", "a/b:80", "u@h:80", "[zz]:80", "host:80:90", "fd00::1:80"]) {
      expect(() => parseHostPort(bad), bad).toThrow(InvalidArgumentError);
    }
    expect(() => parseHostPort("fd00::1:80")).toThrow("put an IPv6 address in brackets, e.g. [fd00::1]:80");
  });
});

describe("parseService, parseTtl, parseMeta", () => {
  it("takes the registry's service names, never . or ..", () => {
    expect(parseService("users_v2:grpc")).toBe("users_v2:grpc");
    for (const bad of ["", ".", "..", "a/b", "a b", "x".repeat(254)]) expect(() => parseService(bad), bad).toThrow(InvalidArgumentError);
  });

  it("takes a TTL in seconds above 0", () => {
    expect(parseTtl("30")).toBe(30);
    expect(parseTtl("1.5")).toBe(1.5);
    expect(parseTtl("10s")).toBe(10);
    for (const bad of ["0", "-1", "ten", "", "1m"]) expect(() => parseTtl(bad), bad).toThrow(InvalidArgumentError);
  });

  it("accumulates key=value pairs, weight as a number, the rest as typed", () => {
    let meta = parseMeta("zone=eu-1a", undefined);
    meta = parseMeta("weight=2.5", meta);
    meta = parseMeta("version=007", meta);
    meta = parseMeta("empty=", meta);
    expect(meta).toEqual({ zone: "eu-1a", weight: 2.5, version: "007", empty: "" });
    for (const bad of ["zone", "=x", "1a=b", "weight=0", "weight=-1", "weight=1e3"]) expect(() => parseMeta(bad, undefined), bad).toThrow(InvalidArgumentError);
    expect(() => parseMeta("zone=b", { zone: "a" })).toThrow("meta zone is given twice");
  });
});

describe("formatInstances", () => {
  const now = Date.parse("2030-01-01T00:00:00.000Z");

  it("lines up id, zone, node, weight and time left; weight 1 when the instance gives none", () => {
    const text = formatInstances("web", [instance("10.0.0.1:80", { zone: "eu-1a", nodeName: "n1", weight: 2 }), instance("[fd00::1]:80", {}, "2030-01-01T00:00:09.200Z")], now);
    expect(text).toBe(["ID            ZONE   NODE  WEIGHT  EXPIRES IN", "10.0.0.1:80   eu-1a  n1    2       1m00s", "[fd00::1]:80  -      -     1       10s", ""].join("\n"));
  });

  it("adds a META column only when some instance has other meta", () => {
    const text = formatInstances("web", [instance("10.0.0.1:80", { version: "1.2", canary: 1 }), instance("10.0.0.2:80")], now);
    expect(text.split("\n")[0]).toBe("ID           ZONE  NODE  WEIGHT  EXPIRES IN  META");
    expect(text.split("\n")[1]).toBe("10.0.0.1:80  -     -     1       1m00s       version=1.2 canary=1");
    expect(text.split("\n")[2]).toBe("10.0.0.2:80  -     -     1       1m00s");
  });

  it("says so when there are none", () => {
    expect(formatInstances("web", [], now)).toBe("no live instances of web");
  });

  it("rounds time left up to the second, coarser as it grows", () => {
    expect([0, -5, 1, 999, 1000, 59_001, 60_000, 61_000, 3_599_000, 3_600_000, 3_661_000].map(formatRemaining)).toEqual([
      "expired",
      "expired",
      "1s",
      "1s",
      "1s",
      "1m00s",
      "1m00s",
      "1m01s",
      "59m59s",
      "1h00m",
      "1h01m",
    ]);
  });
});

describe("keepRegistered", () => {
  /** A sleep that records each wait and aborts the loop after `beats` of them. */
  function script(beats: number): { sleep: (ms: number) => Promise<void>; waits: number[]; controller: AbortController } {
    const controller = new AbortController();
    const waits: number[] = [];
    return {
      controller,
      waits,
      sleep: async (ms) => {
        waits.push(ms);
        if (waits.length > beats) controller.abort();
      },
    };
  }

  it("registers again every third of the TTL until interrupted, returning the last instance", async () => {
    const s = script(3);
    let n = 0;
    const said: string[] = [];
    const last = await keepRegistered(instance("10.0.0.1:80", {}, undefined, 3), {
      register: async () => instance("10.0.0.1:80", {}, `2030-01-01T00:00:0${++n}.000Z`, 3),
      signal: s.controller.signal,
      sleep: s.sleep,
      say: (t) => said.push(t),
    });
    expect(n).toBe(3);
    expect(s.waits).toEqual([1000, 1000, 1000, 1000]);
    expect(last.expiresAt).toBe("2030-01-01T00:00:03.000Z");
    expect(said).toEqual([]);
  });

  it("retries through a namer that is away or failing, and says when it is back", async () => {
    const s = script(4);
    const answers: Array<() => Promise<Instance>> = [
      async () => Promise.reject(new UnreachableError("http://n/", "connection refused")),
      async () => Promise.reject(new ApiError(503, "NAMER_ERR_STORE_UNAVAILABLE", "redis is down")),
      async () => instance("10.0.0.1:80"),
      async () => instance("10.0.0.1:80"),
    ];
    const said: string[] = [];
    await keepRegistered(instance("10.0.0.1:80"), { register: () => (answers.shift() as () => Promise<Instance>)(), signal: s.controller.signal, sleep: s.sleep, say: (t) => said.push(t) });
    expect(answers).toEqual([]);
    expect(said).toEqual([
      "heartbeat failed (cannot reach the namer at http://n/: connection refused); retrying in 10000 ms",
      "heartbeat failed (redis is down [NAMER_ERR_STORE_UNAVAILABLE]); retrying in 10000 ms",
      "heartbeat ok again: web 10.0.0.1:80 expires at 2030-01-01T00:01:00.000Z",
    ]);
  });

  it("stops on a failure that retrying will not fix", async () => {
    const s = script(5);
    const refused = new ApiError(401, "NAMER_ERR_UNAUTHORIZED", "no token");
    await expect(keepRegistered(instance("10.0.0.1:80"), { register: () => Promise.reject(refused), signal: s.controller.signal, sleep: s.sleep, say: () => undefined })).rejects.toBe(refused);
    expect(isTransient(refused)).toBe(false);
    expect(isTransient(new ApiError(502, "X", "y"))).toBe(true);
    expect(isTransient(new Error("bug"))).toBe(false);
  });

  it("never beats faster than the floor, and the real sleep ends early on an abort", async () => {
    expect(heartbeatInterval(0.01)).toBe(MIN_HEARTBEAT_MS);
    expect(heartbeatInterval(30)).toBe(10_000);
    const c = new AbortController();
    const started = Date.now();
    const slept = sleep(60_000, c.signal);
    c.abort();
    await slept;
    expect(Date.now() - started).toBeLessThan(5_000);
    await sleep(60_000, c.signal);
  });
});
