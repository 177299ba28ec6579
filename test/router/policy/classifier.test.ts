// Response classifiers: Linkerd's five HTTP kinds over methods, statuses and
// transport errors; the l5d-retryable header; non-replayable bodies; the
// requeue helper; and the config block.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CLASSIFIER_KINDS,
  IDEMPOTENT_METHODS,
  READ_METHODS,
  isRequeueable,
  responseClassifier,
  responseClassifierConfig,
  responseClassifierFromConfig,
  successClassHeader,
} from "../../../router/policy/index.ts";
import type { ClassifierKind, FailureKind } from "../../../router/policy/index.ts";
import { fcParams } from "./support.ts";

const METHODS = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "POST", "PATCH", "CONNECT", "PROPFIND"];
const ERRORS: FailureKind[] = ["connect", "attempt-timeout", "connection-closed", "protocol", "total-timeout", "cancelled", "other"];
const RETRYABLE_ERRORS: FailureKind[] = ["connect", "attempt-timeout", "connection-closed", "protocol"];

describe("response classifiers", () => {
  const c = (kind: ClassifierKind) => responseClassifier(kind);

  it("count 1xx–4xx responses as successes under every kind", () => {
    for (const kind of CLASSIFIER_KINDS)
      for (const method of METHODS) for (const status of [100, 200, 204, 301, 304, 400, 404, 429, 499]) expect(c(kind)({ method, status }), `${kind} ${method} ${status}`).toBe("success");
  });

  it("nonRetryable5XX (Linkerd's default): 5xx and errors are failures, never retryable", () => {
    const classify = c("io.l5d.http.nonRetryable5XX");
    for (const method of METHODS) {
      for (const status of [500, 502, 503, 504, 599]) expect(classify({ method, status })).toBe("failure");
      for (const error of ERRORS) expect(classify({ method, error })).toBe("failure");
    }
    expect(classify({ method: "GET", status: 600 })).toBe("success");
  });

  it.each([
    ["io.l5d.http.retryableRead5XX", ["GET", "HEAD", "OPTIONS", "TRACE"]],
    ["io.l5d.http.retryableIdempotent5XX", ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]],
    ["io.l5d.http.retryableAll5XX", METHODS],
  ] as const)("%s: 5xx and transport errors are retryable for %j only", (kind, retryable) => {
    const classify = c(kind);
    for (const method of METHODS) {
      const expected = (retryable as readonly string[]).includes(method) ? "retryable-failure" : "failure";
      for (const status of [500, 503, 599]) expect(classify({ method, status }), `${method} ${status}`).toBe(expected);
      for (const error of RETRYABLE_ERRORS) expect(classify({ method, error }), `${method} ${error}`).toBe(expected);
      // No time left, the client left, or something unknown: a failure whatever the method.
      for (const error of ["total-timeout", "cancelled", "other"] as const) expect(classify({ method, error })).toBe("failure");
    }
  });

  it("match methods case-sensitively, as HTTP does", () => {
    expect(c("io.l5d.http.retryableRead5XX")({ method: "get", status: 503 })).toBe("failure");
  });

  it("allSuccessful: every response succeeds whatever its status; an attempt with no response still fails", () => {
    const classify = c("io.l5d.http.allSuccessful");
    expect(classify({ method: "POST", status: 503 })).toBe("success");
    expect(classify({ method: "GET", status: 500, l5dRetryable: "true" })).toBe("success");
    expect(classify({ method: "GET", error: "connect" })).toBe("failure");
  });

  it("honour l5d-retryable from the hop below: true makes a failure retryable, false makes it final; successes stay successes", () => {
    for (const kind of ["io.l5d.http.nonRetryable5XX", "io.l5d.http.retryableRead5XX"] as const) {
      expect(c(kind)({ method: "POST", status: 502, l5dRetryable: "true" })).toBe("retryable-failure");
      expect(c(kind)({ method: "POST", status: 502, l5dRetryable: " TRUE " })).toBe("retryable-failure");
      expect(c(kind)({ method: "GET", status: 502, l5dRetryable: "false" })).toBe("failure");
      expect(c(kind)({ method: "GET", status: 200, l5dRetryable: "true" })).toBe("success");
    }
    expect(c("io.l5d.http.retryableRead5XX")({ method: "GET", status: 502, l5dRetryable: "maybe" })).toBe("retryable-failure");
    expect(c("io.l5d.http.nonRetryable5XX")({ method: "GET", status: 502, l5dRetryable: "" })).toBe("failure");
  });

  it("never call a request retryable when its body cannot be sent again", () => {
    expect(c("io.l5d.http.retryableAll5XX")({ method: "POST", status: 503, replayable: false })).toBe("failure");
    expect(c("io.l5d.http.retryableRead5XX")({ method: "GET", error: "attempt-timeout", replayable: false })).toBe("failure");
    expect(c("io.l5d.http.nonRetryable5XX")({ method: "PUT", status: 502, l5dRetryable: "true", replayable: false })).toBe("failure");
    expect(c("io.l5d.http.retryableRead5XX")({ method: "GET", status: 503, replayable: true })).toBe("retryable-failure");
  });

  it("are named functions, so a stack listing can show them", () => {
    expect(c("io.l5d.http.nonRetryable5XX").name).toBe("nonRetryable5XX");
    expect(c("io.l5d.http.retryableIdempotent5XX").name).toBe("retryableIdempotent5XX");
    expect(c("io.l5d.http.allSuccessful").name).toBe("allSuccessful");
  });

  it("agree with the method sets for any method and status (property)", () => {
    const sets: Record<string, ReadonlySet<string> | "all" | "none"> = {
      "io.l5d.http.nonRetryable5XX": "none",
      "io.l5d.http.retryableRead5XX": READ_METHODS,
      "io.l5d.http.retryableIdempotent5XX": IDEMPOTENT_METHODS,
      "io.l5d.http.retryableAll5XX": "all",
    };
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...METHODS), fc.string()), fc.integer({ min: 100, max: 599 }), (method, status) => {
        for (const [kind, set] of Object.entries(sets)) {
          const verdict = responseClassifier(kind as ClassifierKind)({ method, status });
          const retryable = set === "all" || (set !== "none" && set.has(method));
          expect(verdict).toBe(status < 500 ? "success" : retryable ? "retryable-failure" : "failure");
        }
        expect(responseClassifier("io.l5d.http.allSuccessful")({ method, status })).toBe("success");
      }),
      fcParams("classifier", 500),
    );
  });
});

describe("isRequeueable", () => {
  it("allows an immediate re-send only when the request never reached the backend", () => {
    expect(ERRORS.filter(isRequeueable)).toEqual(["connect"]);
  });
});

describe("successClassHeader", () => {
  it("writes Linkerd's l5d-success-class fractions", () => {
    expect([successClassHeader("success"), successClassHeader("failure"), successClassHeader("retryable-failure")]).toEqual(["1.0", "0.0", "0.0"]);
  });
});

describe("response classifier config", () => {
  it("takes Linkerd's kinds and their short names", () => {
    expect(responseClassifierConfig.parse({ kind: "io.l5d.http.retryableRead5XX" })).toEqual({ kind: "io.l5d.http.retryableRead5XX" });
    expect(responseClassifierConfig.parse({ kind: "retryableIdempotent5XX" })).toEqual({ kind: "io.l5d.http.retryableIdempotent5XX" });
    const classify = responseClassifierFromConfig(responseClassifierConfig.parse({ kind: "retryableRead5XX" }));
    expect(classify({ method: "GET", status: 503 })).toBe("retryable-failure");
  });

  it("rejects unknown kinds and unknown keys", () => {
    expect(responseClassifierConfig.safeParse({ kind: "io.l5d.h2.grpc.default" }).success).toBe(false);
    expect(responseClassifierConfig.safeParse({ kind: "io.l5d.http.allSuccessful", extra: 1 }).success).toBe(false);
  });
});
