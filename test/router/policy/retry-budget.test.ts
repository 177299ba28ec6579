// The retry budget: Finagle's arithmetic, expiring deposits, the reserve that
// always comes back, validation, and properties over arbitrary request/retry
// sequences: the balance never goes negative and retries stay within
// percentCanRetry × requests + the reserve in every ttl window.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY_BUDGET, RetryBudget, retriesConfig, retryBudgetConfig, retryBudgetFromConfig } from "../../../router/policy/index.ts";
import type { RetryBudgetOptions } from "../../../router/policy/index.ts";
import { VirtualClock, fcParams, seededRandom } from "./support.ts";

const budget = (options: RetryBudgetOptions, clock = new VirtualClock()): { b: RetryBudget; clock: VirtualClock } => ({ b: new RetryBudget(options, clock.now), clock });

const withdrawAll = (b: RetryBudget): number => {
  let n = 0;
  while (b.tryWithdraw()) n++;
  return n;
};

describe("RetryBudget", () => {
  it("starts with Linkerd's defaults: a reserve of 10 retries/s × 10 s, and 20 % of requests", () => {
    const { b } = budget({});
    expect([b.ttlSecs, b.minRetriesPerSec, b.percentCanRetry]).toEqual([10, 10, 0.2]);
    expect(b.balance).toBe(100);
    for (let i = 0; i < 50; i++) b.deposit();
    expect(b.balance).toBe(110);
    expect(withdrawAll(b)).toBe(110);
    expect(b.balance).toBe(0);
  });

  it("caps a total outage's extra load at 20 % of requests + 10 retries/s, however eager the retries", () => {
    // 100 requests/s for 100 s, every attempt failing, each request retrying up to 3 times.
    const { b, clock } = budget({});
    let requests = 0;
    let retries = 0;
    for (let ms = 0; ms < 100_000; ms += 10) {
      clock.set(ms);
      b.deposit();
      requests++;
      for (let attempt = 0; attempt < 3 && b.tryWithdraw(); attempt++) retries++;
    }
    // 2,000 earned by requests + 1,000 from a reserve of 100 that comes back every 10 s.
    expect(requests).toBe(10_000);
    expect(retries).toBe(0.2 * requests + 10 * 100);
  });

  it("earns one retry per five requests at 20 %, and not before the fifth", () => {
    const { b } = budget({ minRetriesPerSec: 0, percentCanRetry: 0.2 });
    for (let i = 0; i < 4; i++) b.deposit();
    expect(b.balance).toBe(0);
    expect(b.tryWithdraw()).toBe(false);
    b.deposit();
    expect(b.balance).toBe(1);
    expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(false);
  });

  it("lets a request earn several retries when percentCanRetry > 1, and rounds a retry's cost down like Finagle", () => {
    const { b } = budget({ minRetriesPerSec: 0, percentCanRetry: 2.5 });
    b.deposit();
    b.deposit();
    expect(b.balance).toBe(5);
    // 0.3 → a retry costs ⌊1000 / 0.3⌋ = 3333 units of the 1000 a request earns.
    const { b: third } = budget({ minRetriesPerSec: 0, percentCanRetry: 0.3 });
    for (let i = 0; i < 10; i++) third.deposit();
    expect(third.balance).toBe(3);
    for (let i = 0; i < 3; i++) third.deposit(); // 13 000 / 3333 = 3.9
    expect(third.balance).toBe(3);
    third.deposit(); // 14 000 / 3333 = 4.2
    expect(third.balance).toBe(4);
  });

  it("expires deposits ttl after they were made, to the millisecond", () => {
    const { b, clock } = budget({ ttlSecs: 2, minRetriesPerSec: 0, percentCanRetry: 1 });
    b.deposit();
    clock.advance(1_999);
    expect(b.balance).toBe(1);
    clock.advance(1);
    expect(b.balance).toBe(0);
    expect(b.tryWithdraw()).toBe(false);
  });

  it("spends the oldest deposits first, since they expire first", () => {
    const { b, clock } = budget({ ttlSecs: 10, minRetriesPerSec: 0, percentCanRetry: 0.2 });
    for (let i = 0; i < 5; i++) b.deposit(); // t = 0
    clock.set(5_000);
    for (let i = 0; i < 5; i++) b.deposit(); // t = 5 s
    clock.set(6_000);
    expect(b.tryWithdraw()).toBe(true); // pays with t = 0's deposits
    clock.set(10_000); // t = 0's would have expired now anyway
    expect(b.balance).toBe(1);
    clock.set(15_000);
    expect(b.balance).toBe(0);
  });

  it("always has the reserve: a spent reserve retry comes back ttl later", () => {
    const { b, clock } = budget({ ttlSecs: 2, minRetriesPerSec: 1, percentCanRetry: 0 });
    expect(b.balance).toBe(2);
    expect(b.tryWithdraw()).toBe(true);
    clock.advance(500);
    expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(false);
    clock.advance(1_500); // the first comes back at 2 s
    expect(b.balance).toBe(1);
    clock.advance(500);
    expect(b.balance).toBe(2);
  });

  it("earns nothing from requests when percentCanRetry is 0, and never retries when both knobs are 0", () => {
    const { b } = budget({ ttlSecs: 1, minRetriesPerSec: 3, percentCanRetry: 0 });
    for (let i = 0; i < 1000; i++) b.deposit();
    expect(b.balance).toBe(3);
    const { b: none } = budget({ minRetriesPerSec: 0, percentCanRetry: 0 });
    for (let i = 0; i < 1000; i++) none.deposit();
    expect(none.balance).toBe(0);
    expect(none.tryWithdraw()).toBe(false);
  });

  it("treats a clock that steps back as standing still", () => {
    const { b, clock } = budget({ ttlSecs: 1, minRetriesPerSec: 0, percentCanRetry: 1 });
    clock.set(5_000);
    b.deposit();
    clock.set(1_000);
    b.deposit();
    expect(b.balance).toBe(2);
    clock.set(5_999);
    expect(b.balance).toBe(2);
    clock.set(6_000);
    expect(b.balance).toBe(0);
  });

  it.each([
    [{ ttlSecs: 0 }, /ttlSecs must be a whole number of seconds from 1 to 60 \(got 0\)/],
    [{ ttlSecs: 61 }, /ttlSecs .* \(got 61\)/],
    [{ ttlSecs: 1.5 }, /ttlSecs .* \(got 1.5\)/],
    [{ minRetriesPerSec: -1 }, /minRetriesPerSec must be a whole number from 0 to 1000000 \(got -1\)/],
    [{ minRetriesPerSec: 2.5 }, /minRetriesPerSec .* \(got 2.5\)/],
    [{ percentCanRetry: -0.1 }, /percentCanRetry must be a number from 0 to 1000 \(got -0.1\)/],
    [{ percentCanRetry: 1000.5 }, /percentCanRetry .* \(got 1000.5\)/],
    [{ percentCanRetry: Number.NaN }, /percentCanRetry .* \(got NaN\)/],
    [{ percentCanRetry: 1e-9 }, /percentCanRetry must be 0 or at least 0.000001 \(got 1e-9\)/],
  ])("refuses %j with a clear RangeError", (options, message) => {
    expect(() => new RetryBudget(options, () => 0)).toThrow(RangeError);
    expect(() => new RetryBudget(options, () => 0)).toThrow(message);
  });

  it("accepts Finagle's extremes", () => {
    expect(new RetryBudget({ ttlSecs: 1, minRetriesPerSec: 0, percentCanRetry: 1000 }, () => 0).balance).toBe(0);
    expect(new RetryBudget({ ttlSecs: 60, minRetriesPerSec: 1, percentCanRetry: 0 }, () => 0).balance).toBe(60);
  });
});

describe("retry budget config", () => {
  it("fills Linkerd's defaults and builds the budget", () => {
    expect(retryBudgetConfig.parse({})).toEqual(DEFAULT_RETRY_BUDGET);
    const b = retryBudgetFromConfig(retryBudgetConfig.parse({ ttlSecs: 5, minRetriesPerSec: 2 }), () => 0);
    expect([b.ttlSecs, b.minRetriesPerSec, b.percentCanRetry, b.balance]).toEqual([5, 2, 0.2, 10]);
    expect(retryBudgetFromConfig({}, () => 0).balance).toBe(100);
  });

  it("fills a service's retries block: the default budget and Linkerd's constant 0 ms backoff", () => {
    expect(retriesConfig.parse({})).toEqual({ budget: DEFAULT_RETRY_BUDGET, backoff: { kind: "constant", ms: 0 } });
    expect(retriesConfig.parse({ budget: { percentCanRetry: 0.5 }, backoff: { kind: "jittered", minMs: 10, maxMs: 100 } })).toEqual({
      budget: { ...DEFAULT_RETRY_BUDGET, percentCanRetry: 0.5 },
      backoff: { kind: "jittered", minMs: 10, maxMs: 100 },
    });
    expect(retriesConfig.safeParse({ budgets: {} }).success).toBe(false);
  });

  it("rejects unknown keys and values outside Finagle's limits, naming the key", () => {
    const issues = (value: unknown) => retryBudgetConfig.safeParse(value).error?.issues.map((i) => i.path.join(".")) ?? [];
    expect(issues({ ttl: 10 })).toEqual([""]);
    expect(issues({ ttlSecs: 0 })).toEqual(["ttlSecs"]);
    expect(issues({ ttlSecs: 61 })).toEqual(["ttlSecs"]);
    expect(issues({ minRetriesPerSec: -1 })).toEqual(["minRetriesPerSec"]);
    expect(issues({ percentCanRetry: 1001 })).toEqual(["percentCanRetry"]);
    expect(issues({ percentCanRetry: 1e-9 })).toEqual(["percentCanRetry"]);
    expect(issues({ percentCanRetry: 1000, minRetriesPerSec: 0, ttlSecs: 60 })).toEqual([]);
  });
});

/**
 * The same rules written the slow, obvious way: every token kept in a list
 * and every sum recomputed. The real budget must agree with it exactly.
 */
class ReferenceBudget {
  readonly #deposit: number;
  readonly #cost: number;
  readonly #reserve: number;
  readonly #ttlMs: number;
  #deposits: { at: number; units: number }[] = [];
  #reserveSpent: { at: number; units: number }[] = [];

  constructor(o: Required<RetryBudgetOptions>) {
    this.#deposit = o.percentCanRetry === 0 ? 0 : 1000;
    this.#cost = o.percentCanRetry === 0 ? 1 : Math.floor(1000 / o.percentCanRetry);
    this.#reserve = o.minRetriesPerSec * o.ttlSecs * this.#cost;
    this.#ttlMs = o.ttlSecs * 1000;
  }

  deposit(now: number): void {
    this.#expire(now);
    if (this.#deposit > 0) this.#deposits.push({ at: now, units: this.#deposit });
  }

  tryWithdraw(now: number): boolean {
    this.#expire(now);
    const deposited = this.#deposits.reduce((s, d) => s + d.units, 0);
    const reserveLeft = this.#reserve - this.#reserveSpent.reduce((s, d) => s + d.units, 0);
    if (deposited + reserveLeft < this.#cost) return false;
    let need = this.#cost;
    for (const d of this.#deposits) {
      const take = Math.min(d.units, need);
      d.units -= take;
      need -= take;
    }
    this.#deposits = this.#deposits.filter((d) => d.units > 0);
    if (need > 0) this.#reserveSpent.push({ at: now, units: need });
    return true;
  }

  balance(now: number): number {
    this.#expire(now);
    const deposited = this.#deposits.reduce((s, d) => s + d.units, 0);
    const reserveLeft = this.#reserve - this.#reserveSpent.reduce((s, d) => s + d.units, 0);
    return Math.floor((deposited + reserveLeft) / this.#cost);
  }

  #expire(now: number): void {
    this.#deposits = this.#deposits.filter((d) => d.at + this.#ttlMs > now);
    this.#reserveSpent = this.#reserveSpent.filter((d) => d.at + this.#ttlMs > now);
  }
}

type Op = { readonly op: "deposit" } | { readonly op: "retry" } | { readonly op: "wait"; readonly ms: number };

const options = fc.record({
  ttlSecs: fc.integer({ min: 1, max: 3 }),
  minRetriesPerSec: fc.integer({ min: 0, max: 3 }),
  percentCanRetry: fc.constantFrom(0, 0.1, 0.2, 0.3, 1, 2.5, 1000),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ op: "deposit" } as const) },
  { weight: 4, arbitrary: fc.constant({ op: "retry" } as const) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2_500 }).map((ms) => ({ op: "wait", ms }) as const) },
);

/** Runs a sequence, checking the balance's own rules as it goes; returns when requests and granted retries happened. */
function run(o: Required<RetryBudgetOptions>, ops: readonly Op[]): { deposits: number[]; retries: number[] } {
  const clock = new VirtualClock();
  const b = new RetryBudget(o, clock.now);
  const ref = new ReferenceBudget(o);
  const deposits: number[] = [];
  const retries: number[] = [];
  for (const step of ops) {
    const now = clock.now();
    switch (step.op) {
      case "deposit":
        b.deposit();
        ref.deposit(now);
        deposits.push(now);
        break;
      case "retry": {
        const before = b.balance;
        const granted = b.tryWithdraw();
        expect(granted).toBe(before >= 1);
        expect(granted).toBe(ref.tryWithdraw(now));
        if (granted) {
          retries.push(now);
          expect(b.balance).toBe(before - 1);
        }
        break;
      }
      case "wait":
        clock.advance(step.ms);
        break;
    }
    expect(b.balance).toBeGreaterThanOrEqual(0);
    expect(b.balance).toBe(ref.balance(clock.now()));
  }
  return { deposits, retries };
}

describe("retry budget properties", () => {
  const params = (n: number) => fcParams("retry budget", n);

  it("never lets the balance go negative, grants a retry exactly when the balance is ≥ 1, and matches the reference model", () => {
    fc.assert(
      fc.property(options, fc.array(op, { maxLength: 300 }), (o, ops) => {
        run(o, ops);
      }),
      params(300),
    );
  });

  it("keeps every ttl window's retries within percentCanRetry × that window's and the previous ttl's requests + the reserve", () => {
    fc.assert(
      fc.property(options, fc.array(op, { maxLength: 300 }), (o, ops) => {
        const { deposits, retries } = run(o, ops);
        const ttl = o.ttlSecs * 1000;
        const cost = o.percentCanRetry === 0 ? 1 : Math.floor(1000 / o.percentCanRetry);
        const earned = o.percentCanRetry === 0 ? 0 : 1000;
        const reserve = o.minRetriesPerSec * o.ttlSecs;
        // The worst windows end at a granted retry.
        for (const end of retries) {
          const inWindow = retries.filter((t) => t > end - ttl && t <= end).length;
          const requests = deposits.filter((t) => t > end - 2 * ttl && t <= end).length;
          // Exact in Finagle's integer units: 1000 per request, ⌊1000 / p⌋ per retry.
          expect(inWindow).toBeLessThanOrEqual(Math.floor((requests * earned) / cost) + reserve);
          // The same in the config's terms: the rounding of the retry's cost adds under 0.1 % (p ≤ 1).
          if (o.percentCanRetry <= 1) expect(inWindow).toBeLessThanOrEqual(o.percentCanRetry * requests * 1.001 + reserve);
        }
      }),
      params(300),
    );
  });

  it("gives the whole reserve back after a quiet ttl, and nothing more", () => {
    fc.assert(
      fc.property(options, fc.array(op, { maxLength: 200 }), (o, ops) => {
        const clock = new VirtualClock();
        const b = new RetryBudget(o, clock.now);
        for (const step of ops) {
          if (step.op === "deposit") b.deposit();
          else if (step.op === "retry") b.tryWithdraw();
          else clock.advance(step.ms);
        }
        clock.advance(o.ttlSecs * 1000);
        expect(b.balance).toBe(o.minRetriesPerSec * o.ttlSecs);
      }),
      params(200),
    );
  });

  it("keeps one entry per millisecond however many requests a millisecond holds (clocks give fractions)", () => {
    let t = 0;
    const b = new RetryBudget({ ttlSecs: 10, minRetriesPerSec: 10, percentCanRetry: 0.2 }, () => t);
    // 20,000 requests a second for 10 s, each at its own fractional time.
    for (let i = 0; i < 200_000; i++) {
      t = i * 0.05;
      b.deposit();
    }
    expect(b.entries).toBeLessThanOrEqual(10_001);
    expect(b.entries).toBeGreaterThan(9_000);
    // The books still hold every live deposit: 0.2 retries each, over the last 10 s.
    expect(b.balance).toBe(Math.floor((200_000 - Math.ceil((t - 10_000) / 0.05)) * 0.2) + 100);
  });

  it("agrees with the reference model over a long busy run (many entries per ttl, exercising the queues' compaction)", () => {
    const random = seededRandom(42);
    const o = { ttlSecs: 2, minRetriesPerSec: 5, percentCanRetry: 0.25 };
    const ops: Op[] = [];
    for (let i = 0; i < 40_000; i++) {
      const r = random();
      // Mostly requests, a few retries, time moving 0–2 ms a step: about
      // 2000 entries live per ttl, expiring from the front for ~10 s.
      ops.push(r < 0.7 ? { op: "deposit" } : r < 0.75 ? { op: "retry" } : { op: "wait", ms: Math.floor(random() * 3) });
    }
    const { deposits, retries } = run(o, ops);
    expect(deposits.length).toBeGreaterThan(25_000);
    expect(retries.length).toBeGreaterThan(1_500);
  });
});
