// Failure accrual: the policies (consecutive failures, success rate over
// requests or time, none), the alive → dead → probation state machine with
// its single probe, stale results, counters, the config block, and state
// machine invariants over arbitrary request/result sequences.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ConsecutiveFailuresPolicy,
  ConstantBackoff,
  ExponentialBackoff,
  FailureAccrual,
  NeverMarkDeadPolicy,
  SuccessRatePerRequestsPolicy,
  SuccessRateWindowedPolicy,
  failureAccrualConfig,
  failureAccrualFromConfig,
} from "../../../router/policy/index.ts";
import type { AccrualAttempt, FailureAccrualPolicy } from "../../../router/policy/index.ts";
import { fcParams, scriptedRandom, seededRandom } from "./support.ts";

/** An accrual that marks dead after `failures` in a row and stays out 1 s, 2 s, 4 s, … */
const accrual = (failures = 5, policy: FailureAccrualPolicy = new ConsecutiveFailuresPolicy(failures)) =>
  new FailureAccrual(policy, new ExponentialBackoff({ minMs: 1_000, maxMs: 60_000 }, Math.random));

const fail = (a: FailureAccrual, now: number, n = 1): void => {
  for (let i = 0; i < n; i++) a.recordFailure(a.onRequest(now), now);
};
const succeed = (a: FailureAccrual, now: number): void => a.recordSuccess(a.onRequest(now), now);

describe("FailureAccrual with io.l5d.consecutiveFailures", () => {
  it("marks an endpoint dead at the 5th failure in a row, not the 4th", () => {
    const a = accrual();
    fail(a, 0, 4);
    expect(a.state(0)).toBe("alive");
    expect(a.available(0)).toBe(true);
    fail(a, 0);
    expect(a.state(0)).toBe("dead");
    expect(a.available(0)).toBe(false);
    expect(a.stats).toEqual({ removals: 1, revivals: 0, probes: 0, removedForMs: 1_000 });
  });

  it("starts counting again after any success", () => {
    const a = accrual();
    fail(a, 0, 4);
    succeed(a, 0);
    fail(a, 0, 4);
    expect(a.state(0)).toBe("alive");
    fail(a, 0);
    expect(a.state(0)).toBe("dead");
  });

  it("keeps a dead endpoint out until the backoff's delay has passed, then offers it for probation", () => {
    const a = accrual();
    fail(a, 10_000, 5);
    expect(a.deadUntil).toBe(11_000);
    for (const t of [10_000, 10_500, 10_999]) {
      expect(a.state(t)).toBe("dead");
      expect(a.available(t)).toBe(false);
    }
    expect(a.state(11_000)).toBe("probation");
    expect(a.available(11_000)).toBe(true);
  });

  it("lets exactly one probe through in probation", () => {
    const a = accrual();
    fail(a, 0, 5);
    const probe = a.onRequest(1_000);
    expect(probe.probe).toBe(true);
    expect(a.available(1_000)).toBe(false);
    expect(a.state(1_000)).toBe("probation");
    // A panic-mode request sent anyway is not a second probe.
    expect(a.onRequest(1_001).probe).toBe(false);
    expect(a.available(5_000)).toBe(false);
    expect(a.stats.probes).toBe(1);
  });

  it("revives on the probe's success and restarts the backoff", () => {
    const a = accrual();
    fail(a, 0, 5);
    const probe = a.onRequest(1_000);
    a.recordSuccess(probe, 1_200);
    expect(a.state(1_200)).toBe("alive");
    expect(a.available(1_200)).toBe(true);
    expect(a.deadUntil).toBeUndefined();
    expect(a.stats).toMatchObject({ removals: 1, revivals: 1, probes: 1 });
    // The policy starts over too: it takes 5 new failures, and the backoff is back at 1 s.
    fail(a, 2_000, 4);
    expect(a.state(2_000)).toBe("alive");
    fail(a, 2_000);
    expect(a.deadUntil).toBe(3_000);
  });

  it("sends the endpoint straight back on the probe's failure, for the backoff's next delay, without counting another removal", () => {
    const a = accrual();
    fail(a, 0, 5); // dead until 1 s
    a.recordFailure(a.onRequest(1_000), 1_100); // dead for 2 s more
    expect(a.state(1_100)).toBe("dead");
    expect(a.deadUntil).toBe(3_100);
    a.recordFailure(a.onRequest(3_100), 3_100); // then 4 s
    expect(a.deadUntil).toBe(7_100);
    expect(a.stats).toEqual({ removals: 1, revivals: 0, probes: 2, removedForMs: 7_000 });
  });

  it("ignores results of requests sent before the endpoint was marked dead", () => {
    const a = accrual();
    const early = a.onRequest(0);
    fail(a, 0, 5);
    a.recordSuccess(early, 100);
    expect(a.state(100)).toBe("dead");
    // Still stale in probation: only the probe decides.
    const probe = a.onRequest(1_000);
    a.recordSuccess(early, 1_000);
    expect(a.state(1_000)).toBe("probation");
    a.recordSuccess(probe, 1_000);
    expect(a.state(1_000)).toBe("alive");
    // …and after the revival too.
    a.recordFailure(early, 1_000);
    fail(a, 1_000, 4);
    expect(a.state(1_000)).toBe("alive");
  });

  it("ignores results of panic-mode requests sent while dead or after the probe was taken", () => {
    const a = accrual();
    fail(a, 0, 5);
    const panicked = a.onRequest(500);
    a.recordSuccess(panicked, 600);
    expect(a.state(600)).toBe("dead");
    const probe = a.onRequest(1_000);
    const another = a.onRequest(1_000);
    a.recordFailure(another, 1_000);
    a.recordSuccess(panicked, 1_000);
    expect(a.state(1_000)).toBe("probation");
    const late = a.onRequest(1_000);
    a.recordSuccess(probe, 1_000);
    expect(a.state(1_000)).toBe("alive");
    // Nor do they count once it is back: 4 late failures plus 1 new one are not 5 in a row.
    for (let i = 0; i < 4; i++) a.recordFailure(late, 1_000);
    fail(a, 1_000);
    expect(a.state(1_000)).toBe("alive");
  });

  it("gives the probe back when its result is ignored (a cancelled request), and then disregards it", () => {
    const a = accrual();
    fail(a, 0, 5);
    const cancelled = a.onRequest(1_000);
    a.recordIgnored(cancelled);
    expect(a.available(1_000)).toBe(true);
    const probe = a.onRequest(1_000);
    expect(probe.probe).toBe(true);
    a.recordSuccess(cancelled, 1_000); // too late: the probe is someone else's now
    expect(a.state(1_000)).toBe("probation");
    a.recordFailure(probe, 1_000);
    expect(a.state(1_000)).toBe("dead");
    expect(a.stats.probes).toBe(2);
  });

  it("ignores recordIgnored for ordinary requests", () => {
    const a = accrual(1);
    const ordinary = a.onRequest(0);
    a.recordIgnored(ordinary);
    a.recordFailure(ordinary, 0);
    expect(a.state(0)).toBe("dead");
  });

  it("refuses a threshold below 1", () => {
    expect(() => new ConsecutiveFailuresPolicy(0)).toThrow(/failures must be a whole number ≥ 1 \(got 0\)/);
  });
});

describe("success-rate policies", () => {
  it("io.l5d.successRate never judges before `requests` results, then marks dead once the EWMA is below the rate", () => {
    const p = new SuccessRatePerRequestsPolicy(0.5, 3);
    expect(p.markDeadOnFailure(0)).toBe(false); // request 1
    expect(p.markDeadOnFailure(0)).toBe(false); // request 2
    expect(p.markDeadOnFailure(0)).toBe(true); // request 3: a full window, rate 0
  });

  it("io.l5d.successRate weighs each result by 1 − e^(−1/requests) (Finagle's Ema)", () => {
    // Success then failure: rate = e^(−1/2) ≈ 0.6065 at the 2nd request.
    const below = new SuccessRatePerRequestsPolicy(0.61, 2);
    below.recordSuccess(0);
    expect(below.markDeadOnFailure(0)).toBe(true);
    const above = new SuccessRatePerRequestsPolicy(0.6, 2);
    above.recordSuccess(0);
    expect(above.markDeadOnFailure(0)).toBe(false);
  });

  it("io.l5d.successRate tolerates occasional failures and catches sustained ones", () => {
    const tolerant = new SuccessRatePerRequestsPolicy(0.9, 100);
    for (let i = 0; i < 1_000; i++) {
      if (i % 50 === 49) expect(tolerant.markDeadOnFailure(0)).toBe(false);
      else tolerant.recordSuccess(0);
    }
    const strict = new SuccessRatePerRequestsPolicy(0.9, 100);
    let markedAt: number | undefined;
    for (let i = 0; i < 1_000 && markedAt === undefined; i++) {
      if (i % 2 === 1 && strict.markDeadOnFailure(0)) markedAt = i;
      else if (i % 2 === 0) strict.recordSuccess(0);
    }
    expect(markedAt).toBe(99); // the first failure once a full window of 100 results exists
  });

  it("io.l5d.successRateWindowed judges over time: nothing before `window` seconds of history", () => {
    const p = new SuccessRateWindowedPolicy(0.5, 10);
    expect(p.markDeadOnFailure(1_000)).toBe(false); // the window's clock starts here
    expect(p.markDeadOnFailure(10_999)).toBe(false);
    expect(p.markDeadOnFailure(11_000)).toBe(true);
  });

  it("start over on revival: a fresh window is needed again", () => {
    const a = accrual(1, new SuccessRatePerRequestsPolicy(0.6, 3));
    fail(a, 0, 3);
    expect(a.state(0)).toBe("dead");
    a.recordSuccess(a.onRequest(1_000), 1_000);
    expect(a.state(1_000)).toBe("alive");
    // The probe's success is result 1 of the new window; result 2 is too early to judge…
    fail(a, 1_000);
    expect(a.state(1_000)).toBe("alive");
    // …result 3 completes the window: rate e^(−2/3) ≈ 0.51 < 0.6.
    fail(a, 1_000);
    expect(a.state(1_000)).toBe("dead");
  });

  it("refuse a rate outside 0–1 and an empty window", () => {
    expect(() => new SuccessRatePerRequestsPolicy(1.5, 10)).toThrow(/successRate must be a number from 0 to 1 \(got 1.5\)/);
    expect(() => new SuccessRatePerRequestsPolicy(0.5, 0)).toThrow(/requests must be a whole number ≥ 1/);
    expect(() => new SuccessRateWindowedPolicy(0.5, 0)).toThrow(/window must be a number of seconds > 0/);
  });
});

describe("none", () => {
  it("never marks an endpoint dead", () => {
    const a = new FailureAccrual(new NeverMarkDeadPolicy(), new ConstantBackoff(1));
    fail(a, 0, 10_000);
    expect(a.state(0)).toBe("alive");
    expect(a.stats.removals).toBe(0);
  });
});

describe("failure accrual config", () => {
  it("defaults to 5 consecutive failures with equal-jittered 5–300 s (Linkerd's code default)", () => {
    const a = failureAccrualFromConfig(undefined, scriptedRandom(0.5));
    fail(a, 0, 4);
    expect(a.state(0)).toBe("alive");
    fail(a, 0);
    expect(a.deadUntil).toBe(5_000); // equal jitter's first delay is its minimum
    a.recordFailure(a.onRequest(5_000), 5_000);
    expect(a.deadUntil).toBe(5_000 + 7_500); // then 5 s + U[0, 5 s) with U = 0.5
  });

  it("builds Linkerd's example blocks", () => {
    const parsed = failureAccrualConfig.parse({ kind: "io.l5d.consecutiveFailures", failures: 2, backoff: { kind: "constant", ms: 10_000 } });
    expect(parsed).toEqual({ kind: "io.l5d.consecutiveFailures", failures: 2, backoff: { kind: "constant", ms: 10_000 } });
    const a = failureAccrualFromConfig(parsed, Math.random);
    fail(a, 0, 2);
    expect(a.deadUntil).toBe(10_000);

    const sr = failureAccrualConfig.parse({ kind: "io.l5d.successRate", successRate: 0.9, requests: 1000, backoff: { kind: "jittered", minMs: 5000, maxMs: 300000 } });
    expect(sr).toMatchObject({ kind: "io.l5d.successRate", successRate: 0.9, requests: 1000 });
    expect(failureAccrualFromConfig(sr, Math.random).state(0)).toBe("alive");

    const windowed = failureAccrualConfig.parse({ kind: "successRateWindowed", successRate: 0.5, window: 1 });
    const w = failureAccrualFromConfig(windowed, scriptedRandom(0));
    fail(w, 0);
    fail(w, 1_000);
    expect(w.deadUntil).toBe(6_000);

    const none = failureAccrualFromConfig(failureAccrualConfig.parse({ kind: "none" }), Math.random);
    fail(none, 0, 100);
    expect(none.state(0)).toBe("alive");
  });

  it("fills defaults and accepts short kind names", () => {
    expect(failureAccrualConfig.parse({ kind: "consecutiveFailures" })).toEqual({
      kind: "io.l5d.consecutiveFailures",
      failures: 5,
      backoff: { kind: "equalJittered", minMs: 5_000, maxMs: 300_000 },
    });
  });

  it("rejects missing required keys, values out of range and unknown keys, naming the key", () => {
    const issues = (value: unknown) => failureAccrualConfig.safeParse(value).error?.issues.map((i) => i.path.join(".")) ?? [];
    expect(issues({ kind: "io.l5d.successRate", successRate: 0.9 })).toEqual(["requests"]);
    expect(issues({ kind: "io.l5d.successRate", successRate: 1.1, requests: 10 })).toEqual(["successRate"]);
    expect(issues({ kind: "io.l5d.successRateWindowed", successRate: 0.9 })).toEqual(["window"]);
    expect(issues({ kind: "io.l5d.consecutiveFailures", failures: 0 })).toEqual(["failures"]);
    expect(issues({ kind: "io.l5d.consecutiveFailures", backoff: { kind: "jittered", minMs: 5 } })).toEqual(["backoff.maxMs"]);
    expect(issues({ kind: "io.l5d.consecutiveFailures", failure: 3 })).toEqual([""]);
    expect(issues({ kind: "io.l5d.hybrid" })).toEqual(["kind"]);
  });
});

type Step =
  | { readonly op: "wait"; readonly ms: number }
  | { readonly op: "send" }
  | { readonly op: "finish"; readonly which: number; readonly result: "success" | "failure" | "ignored" };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3_000 }).map((ms) => ({ op: "wait", ms }) as const) },
  { weight: 3, arbitrary: fc.constant({ op: "send" } as const) },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant("finish" as const), which: fc.nat(), result: fc.constantFrom("success" as const, "failure" as const, "ignored" as const) }),
  },
);

describe("failure accrual properties", () => {
  it("keeps the state machine's invariants over any sequence of requests, results and time", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer(), fc.array(step, { maxLength: 200 }), (failures, s, steps) => {
        const a = new FailureAccrual(new ConsecutiveFailuresPolicy(failures), new ExponentialBackoff({ minMs: 500, maxMs: 8_000, jitter: "full" }, seededRandom(s)));
        let now = 0;
        const inFlight: AccrualAttempt[] = [];
        let run = 0; // failures in a row reported by requests sent while alive, since the last revival or success
        for (const st of steps) {
          const before = a.state(now);
          const availableBefore = a.available(now);
          if (st.op === "wait") now += st.ms;
          else if (st.op === "send") {
            const attempt = a.onRequest(now);
            // Only an available endpoint in probation hands out the probe, and then it is no longer available.
            expect(attempt.probe).toBe(before === "probation" && availableBefore);
            if (attempt.probe) expect(a.available(now)).toBe(false);
            inFlight.push(attempt);
          } else if (inFlight.length > 0) {
            const [attempt] = inFlight.splice(st.which % inFlight.length, 1) as [AccrualAttempt];
            const removalsBefore = a.stats.removals;
            const deadUntilBefore = a.deadUntil;
            const stale = attempt.epoch !== a.epoch;
            if (st.result === "success") a.recordSuccess(attempt, now);
            else if (st.result === "failure") a.recordFailure(attempt, now);
            else a.recordIgnored(attempt);
            const after = a.state(now);
            if (stale) {
              // A result from before the latest dead-marking changes nothing.
              expect(after).toBe(before);
              expect(a.deadUntil).toBe(deadUntilBefore);
            } else if (attempt.probe && st.result === "success") {
              expect(after).toBe("alive");
              run = 0;
            } else if (attempt.probe && st.result === "failure") {
              expect(after).toBe("dead");
              expect(a.stats.removals).toBe(removalsBefore);
            } else if (before === "alive" && st.result !== "ignored") {
              run = st.result === "failure" ? run + 1 : 0;
              // Alive → dead exactly at the `failures`-th failure in a row.
              expect(after).toBe(run >= failures ? "dead" : "alive");
              if (after === "dead") run = 0;
            } else {
              expect(after).toBe(before);
            }
          }
          const state = a.state(now);
          // Removals and revivals pair up: one more removal exactly while the endpoint is out.
          expect(a.stats.removals - a.stats.revivals).toBe(state === "alive" ? 0 : 1);
          if (state === "dead") expect(a.available(now)).toBe(false);
          if (state === "alive") expect(a.available(now)).toBe(true);
          expect(a.deadUntil === undefined).toBe(state === "alive");
        }
      }),
      fcParams("failure accrual", 400),
    );
  });
});
