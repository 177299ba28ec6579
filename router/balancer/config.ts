// The client's `loadBalancer` block, with Linkerd 1's kinds and keys (`p2c`,
// `ewma`, `roundRobin`; `maxEffort`, `decayTimeMs`, `enableProbation`) plus
// meshd's `panic`, and the factory that builds a balancer from it.
import { z } from "zod";
import { positiveInt, withUnsupportedKinds } from "../../lib/schema.ts";
import type { Random } from "../policy/clock.ts";
import type { Balancer, PanicMode } from "./balancer.ts";
import { DEFAULT_PANIC_MODE } from "./balancer.ts";
import { DEFAULT_DECAY_TIME_MS, EwmaBalancer } from "./ewma.ts";
import { DEFAULT_MAX_EFFORT, P2cBalancer } from "./p2c.ts";
import { RoundRobinBalancer } from "./round-robin.ts";

const panic = z
  .union([z.enum(["never", "whenNoneAvailable"]), z.strictObject({ belowPercent: z.number().min(0).max(100) })])
  .default(DEFAULT_PANIC_MODE);

const common = {
  /** Draws after the first when neither candidate is available. */
  maxEffort: z.number().int().min(0).default(DEFAULT_MAX_EFFORT),
  /**
   * Linkerd: treat removals from service discovery as advisory while the
   * endpoint stays healthy. Read by the concrete tier that maintains the
   * endpoint set, not by the balancer.
   */
  enableProbation: z.boolean().default(false),
  /** meshd: when to balance over endpoints failure accrual holds out (see `PanicMode`). */
  panic,
};

/** A `loadBalancer` block. Absent, Linkerd uses `p2c`. */
export const loadBalancerConfig = withUnsupportedKinds(
  z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("p2c"), ...common }),
    z.strictObject({
      kind: z.literal("ewma"),
      ...common,
      /** The latency average's time constant (ms). */
      decayTimeMs: positiveInt.default(DEFAULT_DECAY_TIME_MS),
    }),
    z.strictObject({ kind: z.literal("roundRobin"), ...common }),
  ]),
  {
    aperture: "not implemented; p2c and ewma balance by load too",
    heap: "not implemented; p2c balances by load too",
  },
);
export type LoadBalancerConfig = z.input<typeof loadBalancerConfig>;

/** Builds the balancer a `loadBalancer` block names (one per client, i.e. per bound name). */
export function balancerFromConfig(config: LoadBalancerConfig | undefined, random: Random): Balancer {
  const maxEffort = config?.maxEffort ?? DEFAULT_MAX_EFFORT;
  switch (config?.kind) {
    case undefined:
    case "p2c":
      return new P2cBalancer({ maxEffort }, random);
    case "ewma":
      return new EwmaBalancer({ maxEffort, decayTimeMs: config.decayTimeMs ?? DEFAULT_DECAY_TIME_MS }, random);
    case "roundRobin":
      return new RoundRobinBalancer({ maxEffort });
    default:
      return unreachable(config);
  }
}

/** The panic mode a `loadBalancer` block asks for (absent: Linkerd's, `whenNoneAvailable`). */
export function panicModeFromConfig(config: LoadBalancerConfig | undefined): PanicMode {
  return config?.panic ?? DEFAULT_PANIC_MODE;
}

function unreachable(value: never): never {
  throw new Error(`unknown load balancer kind ${JSON.stringify(value)}`);
}
