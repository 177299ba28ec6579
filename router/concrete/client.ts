// The concrete tier: one client per bound name (Linkerd's `client`),
// keeping the endpoint set in step with discovery (through the
// transformers), choosing an endpoint per attempt with the balancer, and
// draining — not cutting — endpoints that disappear.
import type { Path } from "../../dtab/index.ts";
import type { Logger } from "../../lib/log.ts";
import type { Addr, Address } from "../../namer/namers/types.ts";
import { Endpoint, type EndpointOptions } from "../endpoint/endpoint.ts";
import { transformAddr, type Transformer } from "../transformers.ts";

/** Picks an endpoint for one attempt among those available; undefined when none is. */
export interface EndpointBalancer {
  pick(endpoints: readonly Endpoint[]): Endpoint | undefined;
}

/** Power of two choices, least loaded by in-flight requests per unit of weight (Linkerd's default). */
export function p2cBalancer(random: () => number = Math.random): EndpointBalancer {
  return {
    pick(endpoints) {
      const n = endpoints.length;
      if (n === 0) return undefined;
      if (n === 1) return endpoints[0];
      const a = endpoints[Math.floor(random() * n)] as Endpoint;
      let b = endpoints[Math.floor(random() * (n - 1))] as Endpoint;
      if (b === a) b = endpoints[n - 1] as Endpoint;
      return a.pending / a.weight <= b.pending / b.weight ? a : b;
    },
  };
}

export interface ConcreteOptions {
  readonly endpoint: EndpointOptions;
  readonly transformers: readonly Transformer[];
  readonly balancer: EndpointBalancer;
  readonly logger: Logger;
}

function addressKey(a: Address): string {
  return `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
}

export class ConcreteClient {
  /** The client's name as Linkerd shows it (with /%/<transformer> prefixes). */
  readonly name: Path;
  readonly #options: ConcreteOptions;
  readonly #endpoints = new Map<string, Endpoint>();
  #list: readonly Endpoint[] = [];
  #lastAddr: Addr | undefined;
  #state: "bound" | "neg" | "pending" | "failed" = "pending";

  constructor(name: Path, options: ConcreteOptions) {
    this.name = name;
    this.#options = options;
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
      if (!this.#endpoints.has(key)) this.#endpoints.set(key, new Endpoint(a, this.#options.endpoint));
    }
    this.#list = [...this.#endpoints.values()];
  }

  /** An endpoint for the next attempt, or undefined when there is none to send to. */
  pick(exclude?: ReadonlySet<Endpoint>): Endpoint | undefined {
    const candidates = exclude === undefined || exclude.size === 0 ? this.#list : this.#list.filter((e) => !exclude.has(e));
    return this.#options.balancer.pick(candidates.length > 0 ? candidates : this.#list);
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
