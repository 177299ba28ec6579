// meshd.static: fixed address sets written in the namer's config, for
// services that have no discovery (a database, a partner's endpoint) and for
// demos and tests. Nothing is watched: the answers never change.

import { parseAddress, Path } from "../../dtab/index.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import type { StaticNamerConfig } from "./config.ts";
import { address, boundAddr, mountPath, ServiceAnswers } from "./service-namer.ts";
import type { Addr, Address, DiscoveryNamer, NamerAnswer, Watchable } from "./types.ts";
import { constant } from "./watchable.ts";

export interface StaticNamerOptions {
  readonly logger?: Logger | undefined;
}

type StaticAddress = StaticNamerConfig["services"][string][number];

function toAddress(service: string, entry: StaticAddress): Address {
  if (typeof entry !== "string") return address(entry.host, entry.port, { ...entry.meta, weight: entry.weight ?? entry.meta?.weight });
  const parsed = parseAddress(entry);
  // The config schema already checked the shape; this guards direct callers.
  if (parsed === undefined || parsed.host === "" || !(parsed.port >= 1 && parsed.port <= 65535)) {
    throw new RangeError(`meshd.static service "${service}": "${entry}" is not host:port`);
  }
  return address(parsed.host, parsed.port);
}

export class StaticNamer implements DiscoveryNamer {
  readonly kind = "meshd.static";
  readonly prefix: Path;
  readonly #services: ReadonlyMap<string, Addr>;
  readonly #names: readonly Path[];
  readonly #answers: ServiceAnswers;

  constructor(config: Pick<StaticNamerConfig, "prefix" | "services">, options: StaticNamerOptions = {}) {
    this.prefix = mountPath(config.prefix);
    this.#services = new Map(Object.entries(config.services).map(([service, entries]) => [service, boundAddr(entries.map((e) => toAddress(service, e)))]));
    this.#names = Object.freeze([...this.#services.keys()].sort().map((s) => this.prefix.concat(Path.of(s))));
    this.#answers = new ServiceAnswers({
      prefix: this.prefix,
      logger: (options.logger ?? silentLogger).child({ namer: this.kind, prefix: this.prefix.show }),
      split: (residual) => {
        const service = residual.segments[0];
        return service !== undefined && this.#services.has(service) ? { key: service, consumed: 1 } : undefined;
      },
      open: (service) => constant(this.#services.get(service) ?? { type: "neg" }),
    });
  }

  observe(residual: Path): Watchable<NamerAnswer> {
    return this.#answers.observe(residual);
  }

  /** The services watched right now (one underlying watch each, however many observers): diagnostics and tests. */
  observed(): readonly string[] {
    return this.#answers.observed();
  }

  names(): Watchable<readonly Path[]> {
    return constant(this.#names);
  }

  async close(): Promise<void> {
    this.#answers.close();
  }
}

/** Builds a meshd.static namer from its config; throws RangeError on an address that is not host:port. */
export function createStaticNamer(config: StaticNamerConfig, options: StaticNamerOptions = {}): StaticNamer {
  return new StaticNamer(config, options);
}
