// The reconnect backoff: exponential, jittered into the upper half of each
// step, capped, and exact under an injected random source.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffMs, DEFAULT_RETRY, retryFromSeconds } from "../../../namer/client/index.ts";

describe("backoffMs", () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };

  it("doubles per attempt from base, capped at max; jitter spans the upper half of each step", () => {
    expect([0, 1, 2, 3, 6, 7, 40].map((a) => backoffMs(policy, a, () => 1))).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000, 60_000]);
    expect([0, 1, 2, 6].map((a) => backoffMs(policy, a, () => 0))).toEqual([500, 1000, 2000, 30_000]);
    expect(backoffMs(policy, 1, () => 0.5)).toBe(1500);
  });

  it("stays within [ceiling/2, ceiling] and never exceeds max, for any attempt and random value", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 1_000_000 }), fc.nat(5000), fc.double({ min: -1, max: 2, noNaN: true }), (base, extra, attempt, r) => {
        const p = { baseMs: base, maxMs: base + extra };
        const ceiling = Math.min(p.maxMs, base * 2 ** attempt);
        const d = backoffMs(p, attempt, () => r);
        expect(d).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(d).toBeLessThanOrEqual(p.maxMs);
      }),
    );
  });

  it("converts Linkerd's retry block (seconds) and defaults to base 1 s, max 10 min", () => {
    expect(DEFAULT_RETRY).toEqual({ baseMs: 1000, maxMs: 600_000 });
    expect(retryFromSeconds({ baseSeconds: 5, maxSeconds: 600 })).toEqual({ baseMs: 5000, maxMs: 600_000 });
    expect(retryFromSeconds({})).toEqual(DEFAULT_RETRY);
  });
});
