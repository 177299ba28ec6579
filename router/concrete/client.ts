// The concrete tier: one client per bound name (Linkerd's `client`),
// keeping the endpoint set in step with discovery (through the
// transformers), choosing an endpoint per attempt with the balancer, and
// draining — not cutting — endpoints that disappear.
import type { Path } from "../../dtab/index.ts";
import type { Logger } from "../../lib/log.ts";
import type { Addr, Address } from "../../namer/namers/types.ts";
import { pickWithPanic } from "../balancer/index.ts";
import type { ClientConfig } from "../config.ts";
import { Endpoint, type EndpointOptions } from "../endpoint/endpoint.ts";
import { clientParamsFor, clientPolicy, type ClientPolicy } from "../policies.ts";
import type { ClientStats } from "../telemetry/metrics.ts";
import { transformAddr, type Transformer } from "../transformers.ts";

export interface ConcreteOptions {
  /** Endpoint defaults; a client's own hostConnectionPool and connectTimeoutMs override them. */
  readonly endpoint: EndpointOptions;
  readonly transformers: readonly Transformer[];
  /** The router's `client` block; the parameters matching this client's name apply. */
  readonly config: ClientConfig;
  readonly logger: Logger;
  readonly random?: () => number;
  /** Statistics per client name (the router's metrics). */
  readonly stats: (client: string) => ClientStats;
}

function addressKey(a: Address): string {
  return `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
}

export class ConcreteClient {
  /** The client's name as Linkerd shows it (with /%/<transformer> prefixes). */
  readonly name: Path;
  readonly policy: ClientPolicy;
  readonly stats: ClientStats;
  readonly #options: ConcreteOptions;
  readonly #endpointOptions: EndpointOptions;
  #inFlight = 0;
  readonly #endpoints = new Map<string, Endpoint>();
  #list: readonly Endpoint[] = [];
  #lastAddr: Addr | undefined;
  #state: "bound" | "neg" | "pending" | "failed" = "pending";

  constructor(name: Path, options: ConcreteOptions) {
    this.name = name;
    this.#options = options;
    const params = clientParamsFor(options.config, name);
    this.policy = clientPolicy(params, options.random);
    const pool = params.hostConnectionPool;
    this.#endpointOptions = {
      ...options.endpoint,
      ...(pool?.maxSize === undefined ? {} : { maxConnections: pool.maxSize }),
      ...(pool?.idleTimeMs === undefined ? {} : { keepAliveTimeoutMs: pool.idleTimeMs }),
      ...(params.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: params.connectTimeoutMs }),
    };
    this.stats = options.stats(name.show);
  }

  /** Requests in flight through this client. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Takes a slot for one attempt, or false when maxConcurrentRequests are already in flight (shed, never queued). */
  acquire(): boolean {
    const max = this.policy.maxConcurrentRequests;
    if (max !== undefined && this.#inFlight >= max) return false;
    this.#inFlight++;
    return true;
  }

  release(): void {
    this.#inFlight--;
  }

  get endpoints(): readonly Endpoint[] {
    return this.#list;
  }

  get state(): "bound" | "neg" | "pending" | "failed" {
    return this.#state;
  }

  /** Brings the endpoint set in line with discovery's answer (cheap when it has not changed). */
  update(addr: Addr): void {
    if (addr === this.#lastAddr) return;
    this.#lastAddr = addr;
    const transformed = transformAddr(addr, this.#options.transformers);
    this.#state = transformed.type;
    if (transformed.type !== "bound") {
      // Neg, pending or failed: keep serving what is known until discovery says otherwise with a bound set.
      return;
    }
    const wanted = new Map(transformed.addrs.map((a) => [addressKey(a), a]));
    for (const [key, endpoint] of this.#endpoints) {
      const a = wanted.get(key);
      if (a !== undefined && JSON.stringify(a.meta) === JSON.stringify(endpoint.address.meta)) continue;
      this.#endpoints.delete(key);
      // Requests already on it finish; it takes no new ones.
      void endpoint.close().catch((e: unknown) => this.#options.logger.warn({ err: e, endpoint: key }, "closing an endpoint failed"));
    }
    for (const [key, a] of wanted) {
      if (!this.#endpoints.has(key)) this.#endpoints.set(key, new Endpoint(a, this.#endpointOptions, this.policy.newAccrual()));
    }
    this.#list = [...this.#endpoints.values()];
  }

  /**
   * An endpoint for the next attempt, by the balancer among those failure
   * accrual leaves available (all of them in panic mode, when configured);
   * undefined when there is none to send to.
   */
  pick(now: number, avoid?: ReadonlySet<string>): Endpoint | undefined {
    if (avoid === undefined || avoid.size === 0) return pickWithPanic(this.policy.balancer, this.#list, now, this.policy.panic);
    // A retry goes to another endpoint than the ones that already failed this request: they count as
    // unavailable for this one pick (the balancer keeps its state; panic mode still applies).
    const excluded: Endpoint[] = [];
    for (const key of avoid) {
      const e = this.#endpoints.get(key);
      if (e !== undefined) excluded.push(e);
    }
    for (const e of excluded) e.excluded = true;
    let picked: Endpoint | undefined;
    try {
      picked = pickWithPanic(this.policy.balancer, this.#list, now, this.policy.panic);
    } finally {
      for (const e of excluded) e.excluded = false;
    }
    // Nothing else is usable: one that failed this request is still better than none.
    return picked ?? pickWithPanic(this.policy.balancer, this.#list, now, this.policy.panic);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#endpoints.values()].map((e) => e.close()));
    this.#endpoints.clear();
    this.#list = [];
  }

  async destroy(): Promise<void> {
    await Promise.allSettled([...this.#endpoints.values()].map((e) => e.destroy()));
    this.#endpoints.clear();
    this.#list = [];
  }
}
