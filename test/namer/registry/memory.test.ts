// The in-memory registry: the RegistryBackend contract on the real clock,
// then expiry to the millisecond on an injected clock — one timer, set for
// the next instance to expire, moved by heartbeats.
import { afterEach, describe, expect, it } from "vitest";
import { MemoryRegistry, type RegistryClock } from "../../../namer/registry/index.ts";
import { registryContract, watchIds } from "./contract.ts";

registryContract("MemoryRegistry", {
  open: async (options) => new MemoryRegistry(options),
});

/** A clock that moves only when told, running what was scheduled as it passes. */
class ManualClock implements RegistryClock {
  #now = Date.parse("2024-05-01T12:00:00.000Z");
  readonly #timers = new Set<{ at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  schedule(fn: () => void, delayMs: number): () => void {
    const timer = { at: this.#now + delayMs, fn };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  get pending(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const due = [...this.#timers].filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.#timers.delete(due);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = until;
  }
}

describe("MemoryRegistry on an injected clock", () => {
  const registries: MemoryRegistry[] = [];
  const open = (clock: ManualClock): MemoryRegistry => {
    const registry = new MemoryRegistry({ clock });
    registries.push(registry);
    return registry;
  };
  afterEach(async () => {
    await Promise.all(registries.splice(0).map((r) => r.close()));
  });

  it("expires an instance exactly when its TTL runs out, with one timer for the next expiry", async () => {
    const clock = new ManualClock();
    const registry = open(clock);
    const a = await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 10 });
    await registry.register("web", { host: "10.0.0.2", port: 80, ttlSeconds: 20 });
    await registry.register("api", { host: "10.0.0.3", port: 80, ttlSeconds: 5 });
    expect(a.expiresAt).toBe("2024-05-01T12:00:10.000Z");
    expect(clock.pending).toBe(1);
    const web = watchIds(registry, "web");
    const api = watchIds(registry, "api");
    expect(web.seen).toEqual([["10.0.0.1:80", "10.0.0.2:80"]]);
    clock.advance(4999);
    expect(api.seen).toEqual([["10.0.0.3:80"]]);
    clock.advance(1);
    expect(api.seen).toEqual([["10.0.0.3:80"], []]);
    expect(web.seen).toHaveLength(1);
    clock.advance(4999);
    expect((await registry.instances("web")).map((i) => i.id)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    clock.advance(1);
    expect(web.seen.at(-1)).toEqual(["10.0.0.2:80"]);
    expect(await registry.services()).toEqual(["web"]);
    clock.advance(10_000);
    expect(web.seen.at(-1)).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it("moves the timer when a heartbeat extends the earliest expiry", async () => {
    const clock = new ManualClock();
    const registry = open(clock);
    await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 10 });
    const web = watchIds(registry, "web");
    clock.advance(9000);
    const beat = await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 10 });
    expect(beat.registeredAt).toBe("2024-05-01T12:00:00.000Z");
    expect(beat.expiresAt).toBe("2024-05-01T12:00:19.000Z");
    clock.advance(9999);
    expect(web.seen).toEqual([["10.0.0.1:80"]]);
    expect(clock.pending).toBe(1);
    clock.advance(1);
    expect(web.seen).toEqual([["10.0.0.1:80"], []]);
  });

  it("close cancels the expiry timer", async () => {
    const clock = new ManualClock();
    const registry = open(clock);
    await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 10 });
    expect(clock.pending).toBe(1);
    await registry.close();
    expect(clock.pending).toBe(0);
  });
});
