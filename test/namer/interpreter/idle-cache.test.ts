// The idle cache keeps released entries warm, but only so many: past
// maxIdle the longest idle go at once, and entries still leased never do.
import { describe, expect, it } from "vitest";
import { IdleCache } from "../../../namer/interpreter/idle-cache.ts";

function cache(maxIdle: number): { cache: IdleCache<string>; disposed: string[] } {
  const disposed: string[] = [];
  return { cache: new IdleCache<string>({ idleMs: 60_000, maxIdle, dispose: (_v, key) => disposed.push(key) }), disposed };
}

describe("IdleCache", () => {
  it("disposes the longest-idle entries past maxIdle, at once", () => {
    const { cache: c, disposed } = cache(2);
    for (const key of ["a", "b", "c"]) c.acquire(key, () => key).release();
    expect(disposed).toEqual(["a"]);
    expect([...c.keys()].sort()).toEqual(["b", "c"]);
    // Used again, b is no longer idle; released, it is the most recently idle.
    c.acquire("b", () => "b2").release();
    c.acquire("d", () => "d").release();
    expect(disposed).toEqual(["a", "c"]);
    expect([...c.keys()].sort()).toEqual(["b", "d"]);
    c.clear();
  });

  it("never disposes an entry that is still leased, however many go idle", () => {
    const { cache: c, disposed } = cache(1);
    const held = c.acquire("held", () => "held");
    for (let i = 0; i < 10; i++) c.acquire(`k${i}`, () => "v").release();
    expect(disposed).toEqual(["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"]);
    expect(c.size).toBe(2);
    expect(c.active).toBe(1);
    expect(held.value).toBe("held");
    held.release();
    // Now idle too, and the cap is 1: k9 (idle longer) goes.
    expect(disposed.at(-1)).toBe("k9");
    expect([...c.keys()]).toEqual(["held"]);
    c.clear();
  });

  it("reuses a warm entry instead of making it again", () => {
    const { cache: c } = cache(10);
    let made = 0;
    c.acquire("x", () => `v${++made}`).release();
    expect(c.acquire("x", () => `v${++made}`).value).toBe("v1");
    expect(made).toBe(1);
    c.clear();
  });
});
