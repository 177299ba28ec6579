// l5d-ctx-deadline: Linkerd's "<timestamp ns> <deadline ns>" format read and
// written to the digit, the strictest of several values, and a request's
// deadline from the incoming one and the local total timeout.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEADLINE_HEADER,
  combineDeadlines,
  deadlineAfter,
  isExpired,
  msToNs,
  nsToMs,
  parseDeadline,
  readDeadlineHeader,
  remainingMs,
  requestDeadline,
  showDeadline,
} from "../../../router/policy/index.ts";
import type { Deadline } from "../../../router/policy/index.ts";
import { fcParams } from "./support.ts";

const NOW_MS = 1_764_140_000_000; // an epoch time in late 2025
const d = (timestampNs: bigint, deadlineNs: bigint): Deadline => ({ timestampNs, deadlineNs });

describe("l5d-ctx-deadline values", () => {
  it("is the header Linkerd uses", () => {
    expect(DEADLINE_HEADER).toBe("l5d-ctx-deadline");
  });

  it("parse and show Linkerd's format: two epoch-nanosecond integers separated by a space", () => {
    const value = "1764140000000000000 1764140000500000000";
    expect(parseDeadline(value)).toEqual(d(1_764_140_000_000_000_000n, 1_764_140_000_500_000_000n));
    expect(showDeadline(parseDeadline(value)!)).toBe(value);
    expect(parseDeadline(" 1 2 ")).toEqual(d(1n, 2n));
    expect(parseDeadline("-5 -1")).toEqual(d(-5n, -1n));
    expect(parseDeadline("9223372036854775807 -9223372036854775808")).toEqual(d(2n ** 63n - 1n, -(2n ** 63n)));
  });

  it.each(["", "1", "1 2 3", "a b", "1  2", "1\t2", "1.5 2", "1e3 2", "+1 2", "0x10 2", "9223372036854775808 1", "1 -9223372036854775809", "12345678901234567890 1"])(
    "ignore an unreadable value %j, as Linkerd does",
    (value) => {
      expect(parseDeadline(value)).toBeUndefined();
    },
  );

  it("read every value a request carries and keep the strictest: latest timestamp, earliest deadline", () => {
    expect(readDeadlineHeader(undefined)).toBeUndefined();
    expect(readDeadlineHeader("junk")).toBeUndefined();
    expect(readDeadlineHeader(["10 100", "20 300", "junk"])).toEqual(d(20n, 100n));
    expect(readDeadlineHeader("10 100, 5 50")).toEqual(d(10n, 50n));
    expect(readDeadlineHeader(["10 100, x", "5 500"])).toEqual(d(10n, 100n));
  });

  it("round-trip to the digit for any 64-bit values (property)", () => {
    const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    fc.assert(
      fc.property(int64, int64, (t, dl) => {
        const deadline = d(t, dl);
        expect(parseDeadline(showDeadline(deadline))).toEqual(deadline);
      }),
      fcParams("deadline", 1_000),
    );
  });
});

describe("combining deadlines", () => {
  const deadline = fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 62n }), fc.bigInt({ min: 0n, max: 2n ** 62n })).map(([t, dl]) => d(t, dl));

  it("is commutative, associative and idempotent, and never later than either (property)", () => {
    fc.assert(
      fc.property(deadline, deadline, deadline, (a, b, c) => {
        const ab = combineDeadlines(a, b);
        expect(ab).toEqual(combineDeadlines(b, a));
        expect(combineDeadlines(ab, c)).toEqual(combineDeadlines(a, combineDeadlines(b, c)));
        expect(combineDeadlines(a, a)).toEqual(a);
        expect(ab.deadlineNs <= a.deadlineNs && ab.deadlineNs <= b.deadlineNs).toBe(true);
        expect(ab.timestampNs >= a.timestampNs && ab.timestampNs >= b.timestampNs).toBe(true);
        expect([a.deadlineNs, b.deadlineNs]).toContain(ab.deadlineNs);
      }),
      fcParams("deadline", 1_000),
    );
  });
});

describe("a request's deadline", () => {
  it("counts the total timeout from now when no deadline came in", () => {
    expect(requestDeadline(NOW_MS, undefined, 1_500)).toEqual(d(msToNs(NOW_MS), msToNs(NOW_MS + 1_500)));
    expect(requestDeadline(NOW_MS, undefined, undefined)).toBeUndefined();
  });

  it("keeps an earlier incoming deadline, and cuts a later one down to the total timeout", () => {
    const incoming = deadlineAfter(NOW_MS - 100, 300); // 200 ms left
    expect(remainingMs(requestDeadline(NOW_MS, incoming, 1_000)!, NOW_MS)).toBe(200);
    expect(remainingMs(requestDeadline(NOW_MS, incoming, 50)!, NOW_MS)).toBe(50);
    expect(requestDeadline(NOW_MS, incoming, undefined)).toBe(incoming);
  });

  it("is never later than the incoming deadline nor the total timeout (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 42 }),
        fc.option(fc.tuple(fc.integer({ min: -10_000, max: 10_000 }), fc.integer({ min: -10_000, max: 60_000 })), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: undefined }),
        (now, incomingAt, timeout) => {
          const incoming = incomingAt === undefined ? undefined : d(msToNs(now + incomingAt[0]), msToNs(now + incomingAt[1]));
          const result = requestDeadline(now, incoming, timeout);
          expect(result === undefined).toBe(incoming === undefined && timeout === undefined);
          if (result === undefined) return;
          if (timeout !== undefined) expect(remainingMs(result, now)).toBeLessThanOrEqual(timeout);
          if (incoming !== undefined) expect(result.deadlineNs <= incoming.deadlineNs).toBe(true);
        },
      ),
      fcParams("deadline", 1_000),
    );
  });

  it("expires exactly at its deadline", () => {
    const deadline = deadlineAfter(NOW_MS, 100);
    expect(isExpired(deadline, NOW_MS + 99.99)).toBe(false); // a double near 1.7e12 ms resolves about 0.25 µs
    expect(isExpired(deadline, NOW_MS + 100)).toBe(true);
    expect(remainingMs(deadline, NOW_MS + 150)).toBe(-50);
  });

  it("refuses a negative or non-finite timeout", () => {
    expect(() => deadlineAfter(NOW_MS, -1)).toThrow(RangeError);
    expect(() => deadlineAfter(NOW_MS, Infinity)).toThrow(RangeError);
  });
});

describe("time conversions", () => {
  it("turn epoch milliseconds into nanoseconds exactly, fractions included, and back", () => {
    expect(msToNs(NOW_MS)).toBe(1_764_140_000_000_000_000n);
    expect(msToNs(1.5)).toBe(1_500_000n);
    expect(msToNs(-1.5)).toBe(-1_500_000n);
    expect(nsToMs(1_764_140_000_123_456_789n)).toBeCloseTo(NOW_MS + 123.456789, 3);
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 45), max: 2 ** 45 }), (ms) => {
        expect(nsToMs(msToNs(ms))).toBe(ms);
      }),
      fcParams("deadline", 500),
    );
  });
});
