// Backoff schedules: exact sequences for scripted randomness (Finagle's
// formulas), bounds and restartability for any randomness, and the config
// block's kinds, defaults and errors.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ConstantBackoff,
  DecorrelatedJitteredBackoff,
  EqualJitteredBackoff,
  ExponentialBackoff,
  backoffConfig,
  backoffFromConfig,
} from "../../../router/policy/index.ts";
import type { Backoff } from "../../../router/policy/index.ts";
import { fcParams, scriptedRandom, seededRandom } from "./support.ts";

const take = (b: Backoff, n: number): number[] => Array.from({ length: n }, () => b.next());
const always = (v: number) => () => v;

describe("ConstantBackoff", () => {
  it("gives the same delay forever (0 ms by default, Linkerd's retry backoff)", () => {
    expect(take(new ConstantBackoff(250), 4)).toEqual([250, 250, 250, 250]);
    expect(take(new ConstantBackoff(), 2)).toEqual([0, 0]);
  });

  it("refuses a negative or non-finite delay", () => {
    expect(() => new ConstantBackoff(-1)).toThrow(/constant backoff: ms must be a finite number ≥ 0 \(got -1\)/);
    expect(() => new ConstantBackoff(Infinity)).toThrow(RangeError);
  });
});

describe("DecorrelatedJitteredBackoff (Linkerd's jittered)", () => {
  it("starts at minMs and draws each next delay from [previous, 3 × previous), capped at maxMs", () => {
    expect(take(new DecorrelatedJitteredBackoff(100, 1000, always(0.5)), 6)).toEqual([100, 200, 400, 700, 850, 925]);
    expect(take(new DecorrelatedJitteredBackoff(100, 1000, always(0)), 3)).toEqual([100, 100, 100]);
    expect(take(new DecorrelatedJitteredBackoff(100, 100_000, always(0.999999)), 4)).toEqual([100, 299, 896, 2687]);
  });

  it("starts over on reset", () => {
    const b = new DecorrelatedJitteredBackoff(100, 1000, always(0.5));
    take(b, 3);
    b.reset();
    expect(take(b, 2)).toEqual([100, 200]);
  });

  it("refuses minMs ≤ 0 and maxMs < minMs, as Finagle does", () => {
    expect(() => new DecorrelatedJitteredBackoff(0, 10, Math.random)).toThrow(/jittered backoff: minMs must be a finite number > 0 \(got 0\)/);
    expect(() => new DecorrelatedJitteredBackoff(10, 5, Math.random)).toThrow(/maxMs must be a finite number ≥ minMs \(got minMs 10, maxMs 5\)/);
  });
});

describe("EqualJitteredBackoff (failure accrual's default)", () => {
  it("keeps half the exponential growth and jitters the other half, then stays at maxMs", () => {
    // minMs, then h + U[0, h) with h = 100, 200, 400, … ; with U = 0.5: 1.5 h.
    expect(take(new EqualJitteredBackoff(100, 10_000, always(0.5)), 10)).toEqual([100, 150, 300, 600, 1200, 2400, 4800, 9600, 10_000, 10_000]);
    // Finagle: once a delay would reach the maximum, it is the maximum from then on.
    expect(take(new EqualJitteredBackoff(100, 1000, scriptedRandom(0.99, 0.99, 0.99, 0.99)), 6)).toEqual([100, 199, 398, 796, 1000, 1000]);
  });

  it("starts over on reset", () => {
    const b = new EqualJitteredBackoff(5_000, 300_000, always(0));
    expect(take(b, 4)).toEqual([5_000, 5_000, 10_000, 20_000]);
    b.reset();
    expect(take(b, 2)).toEqual([5_000, 5_000]);
  });
});

describe("ExponentialBackoff", () => {
  it("multiplies by `multiplier` up to maxMs", () => {
    expect(take(new ExponentialBackoff({ minMs: 100, maxMs: 1000 }, Math.random), 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(take(new ExponentialBackoff({ minMs: 100, maxMs: 10_000, multiplier: 3 }, Math.random), 4)).toEqual([100, 300, 900, 2700]);
  });

  it("with full jitter, draws from [minMs, the exponential bound]", () => {
    expect(take(new ExponentialBackoff({ minMs: 100, maxMs: 1000, jitter: "full" }, always(0)), 4)).toEqual([100, 100, 100, 100]);
    expect(take(new ExponentialBackoff({ minMs: 100, maxMs: 1000, jitter: "full" }, always(0.999999)), 5)).toEqual([100, 200, 400, 800, 1000]);
  });

  it("runs forever without overflowing", () => {
    const b = new ExponentialBackoff({ minMs: 1, maxMs: 60_000 }, Math.random);
    take(b, 10_000);
    expect(b.next()).toBe(60_000);
  });

  it("refuses a multiplier below 1", () => {
    expect(() => new ExponentialBackoff({ minMs: 1, maxMs: 2, multiplier: 0.5 }, Math.random)).toThrow(/multiplier must be a finite number ≥ 1 \(got 0.5\)/);
  });
});

describe("backoff properties", () => {
  const params = (n: number) => fcParams("backoff", n);
  const range = fc.tuple(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 1_000_000 })).map(([min, extra]) => ({ min, max: min + extra }));

  it("keeps every jittered delay within [minMs, maxMs], decorrelated ones never shrinking", () => {
    fc.assert(
      fc.property(range, fc.integer(), (r, s) => {
        const decorrelated = take(new DecorrelatedJitteredBackoff(r.min, r.max, seededRandom(s)), 40);
        const equal = take(new EqualJitteredBackoff(r.min, r.max, seededRandom(s)), 40);
        const exponential = take(new ExponentialBackoff({ minMs: r.min, maxMs: r.max, jitter: "full" }, seededRandom(s)), 40);
        for (const d of [...decorrelated, ...equal, ...exponential]) {
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(r.min);
          expect(d).toBeLessThanOrEqual(r.max);
        }
        decorrelated.forEach((d, i) => i > 0 && expect(d).toBeGreaterThanOrEqual(decorrelated[i - 1]!));
        // Equal jitter: delay n is in [min × 2^(n−1), min × 2^n), or the maximum.
        equal.forEach((d, n) => {
          if (n === 0 || d === r.max) return;
          expect(d).toBeGreaterThanOrEqual(r.min * 2 ** (n - 1));
          expect(d).toBeLessThan(r.min * 2 ** n);
        });
      }),
      params(300),
    );
  });

  it("replays the same sequence after reset when the random source replays", () => {
    fc.assert(
      fc.property(range, fc.integer(), fc.integer({ min: 1, max: 30 }), (r, s, n) => {
        for (const make of [
          (rnd: () => number) => new DecorrelatedJitteredBackoff(r.min, r.max, rnd),
          (rnd: () => number) => new EqualJitteredBackoff(r.min, r.max, rnd),
          (rnd: () => number) => new ExponentialBackoff({ minMs: r.min, maxMs: r.max, jitter: "full" }, rnd),
        ]) {
          let random = seededRandom(s);
          const b = make(() => random());
          const first = take(b, n);
          b.reset();
          random = seededRandom(s);
          expect(take(b, n)).toEqual(first);
        }
      }),
      params(200),
    );
  });
});

describe("backoff config", () => {
  it("builds each kind, with Linkerd's names and defaults", () => {
    expect(take(backoffFromConfig(backoffConfig.parse({ kind: "constant" }), Math.random), 2)).toEqual([0, 0]);
    expect(take(backoffFromConfig({ kind: "constant", ms: 30 }, Math.random), 1)).toEqual([30]);
    expect(take(backoffFromConfig({ kind: "jittered", minMs: 100, maxMs: 1000 }, always(0.5)), 3)).toEqual([100, 200, 400]);
    expect(take(backoffFromConfig({ kind: "equalJittered", minMs: 100, maxMs: 1000 }, always(0.5)), 3)).toEqual([100, 150, 300]);
    expect(take(backoffFromConfig({ kind: "exponential", minMs: 100, maxMs: 1000 }, always(0.5)), 3)).toEqual([100, 200, 400]);
    expect(backoffConfig.parse({ kind: "exponential", minMs: 1, maxMs: 2 })).toEqual({ kind: "exponential", minMs: 1, maxMs: 2, multiplier: 2, jitter: "none" });
    expect(backoffConfig.parse({ kind: "decorrelatedJittered", minMs: 1, maxMs: 2 })).toEqual({ kind: "jittered", minMs: 1, maxMs: 2 });
  });

  it("rejects what Linkerd rejects: a jittered backoff without minMs or maxMs, and more", () => {
    const issues = (value: unknown) => backoffConfig.safeParse(value).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
    expect(issues({ kind: "jittered", maxMs: 10 }).join()).toMatch(/^minMs: /);
    expect(issues({ kind: "jittered", minMs: 10 }).join()).toMatch(/^maxMs: /);
    expect(issues({ kind: "jittered", minMs: 10, maxMs: 5 })).toEqual(["maxMs: jittered backoff: maxMs must be at least minMs"]);
    expect(issues({ kind: "jittered", minMs: 0, maxMs: 5 }).join()).toMatch(/^minMs: /);
    expect(issues({ kind: "constant", ms: -1 }).join()).toMatch(/^ms: /);
    expect(issues({ kind: "constant", ms: 1, extra: true }).length).toBe(1);
    expect(issues({ kind: "fibonacci" }).length).toBe(1);
  });
});
