// The DiscoveryNamer contract (namer/namers/types.ts) as one suite that every
// discovery namer runs: each namer's test file calls discoveryNamerContract
// with a harness that can set up services for it (files, DNS records,
// registrations, config) and, where the namer allows, change or break them.
import { afterEach, describe, expect, it } from "vitest";
import { formatAddress, Path } from "../../../dtab/index.ts";
import type { DiscoveryNamer, NamerAnswer, Watchable } from "../../../namer/namers/index.ts";
import { sameValue } from "../../../namer/namers/index.ts";
import { eventually } from "../../support/process.ts";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export type Services = Readonly<Record<string, readonly Endpoint[]>>;

export interface NamerHarness {
  /** Opens a fresh namer in which exactly `services` exist. */
  open(services: Services): Promise<DiscoveryNamer>;
  /** The residual (path after the prefix) that names `service`. */
  residual(service: string): Path;
  /** The services the namer holds an underlying watch on now (its observed() diagnostics). */
  observed(namer: DiscoveryNamer): readonly string[];
  /** Gives `service` these endpoints, or removes it (undefined); absent for namers whose services are fixed. */
  readonly update?: ((service: string, endpoints: readonly Endpoint[] | undefined) => Promise<void>) | undefined;
  /**
   * Resolves once the namer has certainly looked at `service` in discovery
   * again since the call, so a wrong notification would have had its chance.
   */
  lookedAgain(service: string): Promise<void>;
  /** Breaks discovery transiently; the returned function mends it. Absent where the namer has no transient failure. */
  readonly outage?: (() => Promise<() => Promise<void>>) | undefined;
  /**
   * After close: waits as long as a change would take to reach a subscriber,
   * failing if the namer still polls or watches discovery meanwhile.
   */
  readonly released?: ((namer: DiscoveryNamer) => Promise<void>) | undefined;
}

/** The endpoints every namer can express: one port, IPv4 and IPv6 hosts. */
export const A: Endpoint = { host: "10.0.0.1", port: 8080 };
export const B: Endpoint = { host: "10.0.0.2", port: 8080 };
export const C: Endpoint = { host: "fd00::3", port: 8080 };

/** An answer's addresses as sorted host:port strings, or its type when it is not bound. */
export function hostPorts(answer: NamerAnswer): string[] | string {
  if (answer.type !== "bound") return answer.type;
  if (answer.addr.type !== "bound") return `addr:${answer.addr.type}`;
  return answer.addr.addrs.map((a) => formatAddress(a.host, a.port)).sort();
}

export function expected(...endpoints: Endpoint[]): string[] {
  return endpoints.map((e) => formatAddress(e.host, e.port)).sort();
}

/** Every value a subscriber was told, in order. */
export function record<T>(watchable: Watchable<T>): T[] {
  const seen: T[] = [];
  watchable.subscribe((v) => seen.push(v));
  return seen;
}

/** Waits until the watchable's current answer has these addresses (or is of this type). */
export async function answerIs(w: Watchable<NamerAnswer>, want: string[] | string, timeoutMs = 10_000): Promise<NamerAnswer> {
  return eventually(
    () => {
      const now = w.current();
      return sameValue(hostPorts(now), want) ? now : undefined;
    },
    timeoutMs,
    `answer ${JSON.stringify(want)} (last: ${JSON.stringify(hostPorts(w.current()))})`,
  );
}

function noRepeats(values: readonly NamerAnswer[]): void {
  for (let i = 1; i < values.length; i++) {
    expect(sameValue(values[i - 1], values[i]), `notification ${i} repeats the one before: ${JSON.stringify(hostPorts(values[i] as NamerAnswer))}`).toBe(false);
  }
}

export function discoveryNamerContract(name: string, harness: NamerHarness): void {
  describe(`${name}: the DiscoveryNamer contract`, () => {
    const opened: DiscoveryNamer[] = [];
    const open = async (services: Services): Promise<DiscoveryNamer> => {
      const namer = await harness.open(services);
      opened.push(namer);
      return namer;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((n) => n.close()));
    });
    const mutable = harness.update !== undefined;
    const update = (service: string, endpoints: readonly Endpoint[] | undefined): Promise<void> => {
      if (harness.update === undefined) throw new Error("this namer's services are fixed");
      return harness.update(service, endpoints);
    };

    it("answers neg for a name it does not know and for the empty path", async () => {
      const namer = await open({ web: [A] });
      expect(namer.observe(Path.empty).current()).toEqual({ type: "neg" });
      const unknown = namer.observe(harness.residual("nosuch"));
      await answerIs(unknown, "neg");
      unknown.close();
    });

    it("binds a service: the id is the prefix and the consumed labels, the rest is the residual", async () => {
      const namer = await open({ web: [A, B, C] });
      const w = namer.observe(harness.residual("web").concat(Path.of("extra", "path")));
      const answer = await answerIs(w, expected(A, B, C));
      if (answer.type !== "bound") throw new Error("not bound");
      expect(answer.id.show).toBe(namer.prefix.concat(harness.residual("web")).show);
      expect(answer.residual.show).toBe("/extra/path");
      expect(answer.id.startsWith(namer.prefix)).toBe(true);
      expect(namer.prefix.segments[0]).toBe("#");
      // Without a rest, the residual is empty.
      const bare = namer.observe(harness.residual("web"));
      const bareAnswer = await answerIs(bare, expected(A, B, C));
      expect(bareAnswer.type === "bound" && bareAnswer.residual.isEmpty).toBe(true);
      w.close();
      bare.close();
    });

    // A namer whose answers cannot change (static) has nothing to show here: the test is not registered.
    if (mutable) it("tells a subscriber about address changes, removal (neg) and return", async () => {
      const namer = await open({ web: [A] });
      const w = namer.observe(harness.residual("web"));
      await answerIs(w, expected(A));
      const seen = record(w);
      await update("web", [A, B]);
      await answerIs(w, expected(A, B));
      await update("web", [C]);
      await answerIs(w, expected(C));
      await update("web", undefined);
      await answerIs(w, "neg");
      await update("web", [B]);
      await answerIs(w, expected(B));
      // The subscriber was told each state, in order (it may not see every intermediate one, but never one out of order).
      const told = seen.map(hostPorts);
      expect(told.at(-1)).toEqual(expected(B));
      expect(told).toContainEqual("neg");
      expect(told.indexOf("neg")).toBeGreaterThan(told.findIndex((t) => sameValue(t, expected(C))));
      noRepeats(seen);
      w.close();
    });

    if (mutable) it("binds a service that appears after it was observed as neg", async () => {
      const namer = await open({ web: [A] });
      const w = namer.observe(harness.residual("api"));
      await answerIs(w, "neg");
      await update("api", [B]);
      await answerIs(w, expected(B));
      w.close();
    });

    it("never notifies twice in a row with the same answer", async () => {
      const namer = await open({ web: [A, B] });
      const w = namer.observe(harness.residual("web"));
      await answerIs(w, expected(A, B));
      const seen = record(w);
      if (mutable) {
        // The same endpoints written again (a rewrite, a heartbeat, a re-resolution) are no news.
        await update("web", [B, A]);
        await harness.lookedAgain("web");
        expect(seen).toEqual([]);
        await update("web", [A, B, C]);
        await answerIs(w, expected(A, B, C));
        await harness.lookedAgain("web");
        expect(seen.map(hostPorts)).toEqual([expected(A, B, C)]);
      } else {
        await harness.lookedAgain("web");
        expect(seen).toEqual([]);
      }
      noRepeats(seen);
      w.close();
    });

    it("shares one underlying watch among observers of a service, and releases it with the last", async () => {
      const namer = await open({ web: [A] });
      const first = namer.observe(harness.residual("web"));
      const second = namer.observe(harness.residual("web"));
      const other = namer.observe(harness.residual("web").concat(Path.of("v2")));
      await answerIs(first, expected(A));
      await answerIs(other, expected(A));
      // The same residual: literally the same answer object, one watch behind both handles.
      expect(second.current()).toBe(first.current());
      expect(harness.observed(namer)).toHaveLength(1);
      const secondSeen = record(second);
      first.close();
      expect(harness.observed(namer)).toHaveLength(1);
      if (mutable) {
        await update("web", [B]);
        await answerIs(second, expected(B));
        // The remaining handle still hears changes (an update may pass through intermediate states).
        expect(secondSeen.map(hostPorts).at(-1)).toEqual(expected(B));
      }
      second.close();
      expect(harness.observed(namer)).toHaveLength(1);
      other.close();
      expect(harness.observed(namer)).toHaveLength(0);
      // Closing twice is harmless.
      other.close();
      // Observing again opens a fresh watch.
      const again = namer.observe(harness.residual("web"));
      await answerIs(again, mutable ? expected(B) : expected(A));
      expect(harness.observed(namer)).toHaveLength(1);
      again.close();
    });

    it("close releases everything and later observations fail", async () => {
      const namer = await open({ web: [A], api: [B] });
      const web = namer.observe(harness.residual("web"));
      const api = namer.observe(harness.residual("api"));
      await answerIs(web, expected(A));
      await answerIs(api, expected(B));
      const seen = record(web);
      await namer.close();
      expect(harness.observed(namer)).toHaveLength(0);
      // Handles still answer their last value, and hear nothing more.
      expect(hostPorts(web.current())).toEqual(expected(A));
      if (mutable) await update("web", [C]);
      // Gives a change the time it would take to arrive, and checks nothing is polled or watched any more.
      await harness.released?.(namer);
      expect(seen).toEqual([]);
      expect(namer.observe(harness.residual("web")).current().type).toBe("failed");
      web.close();
      api.close();
    });

    if (harness.outage !== undefined) it("keeps the last good addresses through a transient discovery failure", async () => {
      const namer = await open({ web: [A, B] });
      const w = namer.observe(harness.residual("web"));
      const good = await answerIs(w, expected(A, B));
      const seen = record(w);
      const mend = await (harness.outage as () => Promise<() => Promise<void>>)();
      try {
        await harness.lookedAgain("web");
        expect(w.current()).toBe(good);
        expect(seen).toEqual([]);
      } finally {
        await mend();
      }
      if (mutable) {
        await update("web", [C]);
        await answerIs(w, expected(C));
      }
      noRepeats(seen);
      w.close();
    });
  });
}
