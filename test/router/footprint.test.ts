// What a router process costs when it has nothing to do.
// - What it loads: an ESM import of node:http reads its lazy `WebSocket`
//   export, which loads Node's bundled undici (about 3 MB of heap and 13 MB
//   resident). lib/node-http.ts takes http through require instead; this
//   fails if anything on the router's path imports it the ESM way again.
// - How often it wakes: an idle router's event loop should sleep, not tick
//   100 times a second (prom-client's default event-loop monitor did).
// - How far it grows when every request fails: with the Node flags it is
//   installed with, a flood of requests to a backend that is down must not
//   let V8 grow the heap without bound (it took a router to 200 MiB).
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { describe, expect, it } from "vitest";
import { binNodeFlags, procStatusField } from "../support/process.ts";
import { freePort } from "../support/redis.ts";
import { startRouterProcess } from "../support/router.ts";

const main = fileURLToPath(new URL("../../router/main.ts", import.meta.url));

function loadedBuiltins(entry: string): string[] {
  const script = `await import(${JSON.stringify(entry)}); console.log(JSON.stringify(process.moduleLoadList));`;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })) as string[];
}

describe("the router's footprint", () => {
  it("does not load Node's bundled undici (fetch, WebSocket)", () => {
    const loaded = loadedBuiltins(main);
    expect(loaded).toContain("NativeModule http");
    expect(loaded.filter((m) => m.includes("internal/deps/undici"))).toEqual([]);
  });

  it("would load it through an ESM import of node:http (the check can fail)", () => {
    const loaded = loadedBuiltins("node:http");
    expect(loaded.some((m) => m.includes("internal/deps/undici"))).toBe(true);
  });
});

describe("an idle router process", () => {
  it("wakes its event loop a few times a second, not a hundred", async () => {
    const router = await startRouterProcess({ routers: [{ protocol: "http", dtab: "/svc => /$/inet/127.0.0.1/9", servers: [{}] }] });
    try {
      const pid = router.process.child.pid as number;
      await sleep(1_000); // past start-up work (compilation, the first GCs)
      // Times the main thread went to sleep of its own accord (/proc counts the thread group leader's).
      const before = procStatusField(pid, "voluntary_ctxt_switches");
      await sleep(3_000);
      const perSecond = (procStatusField(pid, "voluntary_ctxt_switches") - before) / 3;
      // The lag monitor accounts for 1000 / EVENT_LOOP_SAMPLE_MS (10) a second, the rest of an idle router for a few more;
      // prom-client's default monitor alone made 100.
      expect(perSecond).toBeGreaterThan(0);
      expect(perSecond).toBeLessThan(40);
    } finally {
      await router.stop();
    }
  }, 30_000);
});

describe("a router whose backend is down", () => {
  it("keeps its memory bounded through a flood of failing requests", async () => {
    // Each failed request leaves more garbage that outlives young collections than a good one;
    // left to its default heap growth, V8 let such a flood take this router past 200 MiB.
    const closed = await freePort();
    const router = await startRouterProcess({
      routers: [{ protocol: "http", dtab: `/svc => /$/inet/127.0.0.1/${closed}`, servers: [{}] }],
      nodeFlags: binNodeFlags(),
    });
    const pool = new Pool(router.servers[0]?.[0] as string, { connections: 50 });
    try {
      const statuses = new Map<number, number>();
      const until = Date.now() + 8_000;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (Date.now() < until) {
            const res = await pool.request({ method: "GET", path: "/", headers: { host: "web" } });
            await res.body.dump();
            statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          }
        }),
      );
      expect([...statuses.keys()]).toEqual([502]);
      expect(statuses.get(502)).toBeGreaterThan(5_000);
      expect(procStatusField(router.process.child.pid as number, "VmHWM") / 1024).toBeLessThan(160);
    } finally {
      await pool.close();
      await router.stop();
    }
  }, 60_000);
});
