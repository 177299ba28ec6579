// The injected sources of time and randomness that every policy and balancer
// takes, so that tests drive them exactly (STYLE.md "Policies are pure").

/** Milliseconds from a monotonic clock: `performance.now()` in the router, a plain number in tests. */
export type Clock = () => number;

/** A uniform random number in [0, 1): `Math.random` in the router, a seeded generator in tests. */
export type Random = () => number;
