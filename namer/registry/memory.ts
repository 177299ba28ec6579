// The in-memory service registry: for a single namer (the embedded store's
// companion) and for tests. Expiry runs on an injected clock: one timer, set
// for the next instance to expire, tells watchers as instances lapse.

import { type Logger, silentLogger } from "../../lib/log.ts";
import { NamerError } from "../errors.ts";
import {
  byId,
  checkRegistration,
  checkServiceName,
  DEFAULT_MAX_TTL_SECONDS,
  instanceId,
  type InstancesWatcher,
  systemClock,
  tellWatcher,
} from "./instances.ts";
import type { Instance, Registration, RegistryBackend, RegistryClock, Unsubscribe } from "./types.ts";

export interface MemoryRegistryOptions {
  /** Longest TTL a registration may ask for (seconds, default 3600). */
  readonly maxTtlSeconds?: number | undefined;
  readonly clock?: RegistryClock | undefined;
  readonly logger?: Logger | undefined;
}

interface Stored {
  readonly instance: Instance;
  readonly expiresAtMs: number;
}

export class MemoryRegistry implements RegistryBackend {
  readonly #maxTtlSeconds: number;
  readonly #clock: RegistryClock;
  readonly #logger: Logger;
  readonly #services = new Map<string, Map<string, Stored>>();
  readonly #watchers = new Map<string, Set<InstancesWatcher>>();
  #cancelTimer: (() => void) | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(options: MemoryRegistryOptions = {}) {
    this.#maxTtlSeconds = options.maxTtlSeconds ?? DEFAULT_MAX_TTL_SECONDS;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
  }

  async register(service: string, registration: Registration): Promise<Instance> {
    this.#open();
    checkServiceName(service);
    const checked = checkRegistration(registration, this.#maxTtlSeconds);
    const now = this.#clock.now();
    this.#expire(now);
    const id = instanceId(checked.host, checked.port);
    let instances = this.#services.get(service);
    if (instances === undefined) this.#services.set(service, (instances = new Map()));
    const expiresAtMs = now + checked.ttlSeconds * 1000;
    const instance: Instance = Object.freeze({
      service,
      id,
      host: checked.host,
      port: checked.port,
      ttlSeconds: checked.ttlSeconds,
      meta: Object.freeze({ ...checked.meta }),
      registeredAt: instances.get(id)?.instance.registeredAt ?? new Date(now).toISOString(),
      expiresAt: new Date(expiresAtMs).toISOString(),
    });
    instances.set(id, { instance, expiresAtMs });
    this.#changed(service, now);
    this.#schedule(now);
    return instance;
  }

  async deregister(service: string, id: string): Promise<boolean> {
    this.#open();
    checkServiceName(service);
    const now = this.#clock.now();
    this.#expire(now);
    const removed = this.#services.get(service)?.delete(id) ?? false;
    if (removed) {
      if (this.#services.get(service)?.size === 0) this.#services.delete(service);
      this.#changed(service, now);
    }
    return removed;
  }

  async instances(service: string): Promise<readonly Instance[]> {
    this.#open();
    checkServiceName(service);
    return this.#live(service, this.#clock.now());
  }

  async services(): Promise<readonly string[]> {
    this.#open();
    const now = this.#clock.now();
    return [...this.#services.keys()].filter((s) => this.#live(s, now).length > 0).sort();
  }

  watch(service: string, listener: (instances: readonly Instance[]) => void): Unsubscribe {
    checkServiceName(service);
    if (this.#closed) return () => undefined;
    let watchers = this.#watchers.get(service);
    if (watchers === undefined) this.#watchers.set(service, (watchers = new Set()));
    const watcher: InstancesWatcher = { listener, last: undefined };
    watchers.add(watcher);
    // Known at once: the first answer is delivered before watch returns.
    tellWatcher(watcher, this.#live(service, this.#clock.now()), this.#logger);
    return () => {
      const set = this.#watchers.get(service);
      set?.delete(watcher);
      if (set?.size === 0) this.#watchers.delete(service);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#watchers.clear();
  }

  #open(): void {
    if (this.#closed) throw new NamerError("NAMER_ERR_SHUTTING_DOWN", "the service registry is closed");
  }

  #live(service: string, now: number): readonly Instance[] {
    const instances = this.#services.get(service);
    if (instances === undefined) return [];
    return [...instances.values()]
      .filter((s) => s.expiresAtMs > now)
      .map((s) => s.instance)
      .sort(byId);
  }

  /** Drops every instance that has expired by `now` and tells the watchers of the services that lost one. */
  #expire(now: number): void {
    for (const [service, instances] of this.#services) {
      let lost = false;
      for (const [id, stored] of instances) {
        if (stored.expiresAtMs <= now) {
          instances.delete(id);
          lost = true;
        }
      }
      if (instances.size === 0) this.#services.delete(service);
      if (lost) this.#changed(service, now);
    }
  }

  #changed(service: string, now: number): void {
    const watchers = this.#watchers.get(service);
    if (watchers === undefined) return;
    const live = this.#live(service, now);
    for (const watcher of [...watchers]) tellWatcher(watcher, live, this.#logger);
  }

  /** One timer, for the earliest expiry: when it fires, expired instances go and watchers hear of it. */
  #schedule(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const instances of this.#services.values()) for (const s of instances.values()) next = Math.min(next, s.expiresAtMs);
    if (next === this.#timerAt) return;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#timerAt = next;
    if (next === Number.POSITIVE_INFINITY || this.#closed) return;
    this.#cancelTimer = this.#clock.schedule(() => {
      this.#cancelTimer = undefined;
      this.#timerAt = Number.POSITIVE_INFINITY;
      const at = this.#clock.now();
      this.#expire(at);
      this.#schedule(at);
    }, next - now);
  }
}
