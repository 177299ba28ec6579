// The loadBalancer block and the panic helper: Linkerd's kinds and defaults,
// strictness, meshd's panic modes, and what pickWithPanic does under each.
import { describe, expect, it } from "vitest";
import {
  EwmaBalancer,
  P2cBalancer,
  RoundRobinBalancer,
  balancerFromConfig,
  loadBalancerConfig,
  panicModeFromConfig,
  pickWithPanic,
} from "../../../router/balancer/index.ts";
import { seededRandom } from "../policy/support.ts";
import { TestEndpoint, tally } from "./support.ts";

describe("loadBalancer config", () => {
  it("fills Linkerd's defaults for each kind", () => {
    expect(loadBalancerConfig.parse({ kind: "p2c" })).toEqual({ kind: "p2c", maxEffort: 5, enableProbation: false, panic: "whenNoneAvailable" });
    expect(loadBalancerConfig.parse({ kind: "ewma" })).toMatchObject({ kind: "ewma", maxEffort: 5, decayTimeMs: 10_000 });
    expect(loadBalancerConfig.parse({ kind: "roundRobin", panic: { belowPercent: 50 } })).toMatchObject({ panic: { belowPercent: 50 } });
  });

  it("builds the balancer it names, p2c when absent", () => {
    expect(balancerFromConfig(undefined, Math.random)).toBeInstanceOf(P2cBalancer);
    expect(balancerFromConfig(loadBalancerConfig.parse({ kind: "ewma", decayTimeMs: 5_000 }), Math.random)).toBeInstanceOf(EwmaBalancer);
    expect(balancerFromConfig({ kind: "roundRobin" }, Math.random)).toBeInstanceOf(RoundRobinBalancer);
    expect(balancerFromConfig({ kind: "p2c", maxEffort: 2 }, Math.random).kind).toBe("p2c");
    expect(panicModeFromConfig(undefined)).toBe("whenNoneAvailable");
    expect(panicModeFromConfig({ kind: "p2c", panic: "never" })).toBe("never");
  });

  it("rejects unknown kinds (aperture and heap are not implemented) and unknown keys, naming them", () => {
    const issues = (value: unknown) => loadBalancerConfig.safeParse(value).error?.issues.map((i) => i.path.join(".")) ?? [];
    expect(issues({ kind: "aperture" })).toEqual(["kind"]);
    expect(issues({ kind: "p2c", decayTimeMs: 10 })).toEqual([""]);
    expect(issues({ kind: "ewma", decayTimeMs: 0 })).toEqual(["decayTimeMs"]);
    expect(issues({ kind: "p2c", maxEffort: -1 })).toEqual(["maxEffort"]);
    expect(issues({ kind: "p2c", panic: { belowPercent: 101 } })).toEqual(["panic.belowPercent"]);
    expect(issues({ kind: "p2c", panic: "sometimes" })).toEqual(["panic"]);
  });
});

describe("pickWithPanic", () => {
  const make = (...up: boolean[]) => up.map((u, i) => new TestEndpoint(`e${i}`, 1, 0, u));

  it("never: nothing when no endpoint is available", () => {
    expect(pickWithPanic(new RoundRobinBalancer(), make(false, false), 0, "never")).toBeUndefined();
  });

  it("whenNoneAvailable (Linkerd 1): routes to all only when every endpoint is out", () => {
    const b = new P2cBalancer({}, seededRandom(1));
    const allDown = make(false, false, false);
    expect(allDown).toContain(pickWithPanic(b, allDown, 0, "whenNoneAvailable"));
    const oneUp = make(false, true, false);
    for (let i = 0; i < 50; i++) expect(pickWithPanic(b, oneUp, 0, "whenNoneAvailable")).toBe(oneUp[1]);
  });

  it("belowPercent (Envoy's panic threshold): routes to all while too few are available", () => {
    const b = new RoundRobinBalancer();
    const quarter = make(true, false, false, false); // 25 % < 50 %
    expect(Object.keys(tally(8, () => pickWithPanic(b, quarter, 0, { belowPercent: 50 }))).sort()).toEqual(["e0", "e1", "e2", "e3"]);
    const most = make(true, true, true, false); // 75 % ≥ 50 %
    expect(Object.keys(tally(8, () => pickWithPanic(b, most, 0, { belowPercent: 50 }))).sort()).toEqual(["e0", "e1", "e2"]);
    expect(pickWithPanic(b, make(false, false), 0, { belowPercent: 0 })).toBeUndefined();
    // Endpoints without weight count neither way.
    const weighted = [...make(true), new TestEndpoint("drained", 0, 0, false)];
    expect(pickWithPanic(b, weighted, 0, { belowPercent: 60 })?.key).toBe("e0");
  });
});
