// meshd.registry: service discovery from the namer's own registry, where
// instances register with a TTL and heartbeat (/#/registry/<service>). Live
// instances are the addresses, their meta (nodeName, zone, weight, …) kept.

import type { Path } from "../../dtab/index.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { errorText } from "../errors.ts";
// The registry's pure parts only: routers load this folder, and must not load Redis through it.
import { isServiceName } from "../registry/instances.ts";
import type { Instance, RegistryBackend } from "../registry/types.ts";
import type { RegistryNamerConfig } from "./config.ts";
import { address, boundAddr, mountPath, ServiceAnswers, ServiceCell } from "./service-namer.ts";
import type { Addr, DiscoveryNamer, NamerAnswer, Watchable } from "./types.ts";

export interface RegistryNamerOptions {
  readonly logger?: Logger | undefined;
}

/** A service's live instances as an Addr: none live means the name does not exist (neg). */
export function instancesAddr(instances: readonly Instance[]): Addr {
  return instances.length === 0 ? { type: "neg" } : boundAddr(instances.map((i) => address(i.host, i.port, i.meta)));
}

export class RegistryNamer implements DiscoveryNamer {
  readonly kind = "meshd.registry";
  readonly prefix: Path;
  readonly #backend: RegistryBackend;
  readonly #logger: Logger;
  readonly #answers: ServiceAnswers;

  /** The backend is the caller's: closing the namer stops its watches but leaves the backend open. */
  constructor(config: Pick<RegistryNamerConfig, "prefix">, backend: RegistryBackend, options: RegistryNamerOptions = {}) {
    this.prefix = mountPath(config.prefix);
    this.#backend = backend;
    this.#logger = (options.logger ?? silentLogger).child({ namer: this.kind, prefix: this.prefix.show });
    this.#answers = new ServiceAnswers({
      prefix: this.prefix,
      logger: this.#logger,
      split: (residual) => {
        const service = residual.segments[0];
        return service !== undefined && isServiceName(service) ? { key: service, consumed: 1 } : undefined;
      },
      open: (service) => this.#watch(service),
    });
  }

  observe(residual: Path): Watchable<NamerAnswer> {
    return this.#answers.observe(residual);
  }

  /** The services watched right now (one underlying watch each, however many observers): diagnostics and tests. */
  observed(): readonly string[] {
    return this.#answers.observed();
  }

  async close(): Promise<void> {
    this.#answers.close();
  }

  #watch(service: string): Watchable<Addr> {
    let unsubscribe: () => void = () => undefined;
    const cell = new ServiceCell(this.#logger, { service }, () => unsubscribe());
    unsubscribe = this.#backend.watch(
      service,
      (instances) => cell.answer(instancesAddr(instances)),
      (error) => cell.fail(`cannot read the registry: ${errorText(error)}`),
    );
    // A backend that answered synchronously after the cell was closed (cannot happen today) must not leak its watch.
    if (cell.closed) unsubscribe();
    return cell;
  }
}

/** Builds a meshd.registry namer over `backend` (which the caller keeps and closes). */
export function createRegistryNamer(config: RegistryNamerConfig, backend: RegistryBackend, options: RegistryNamerOptions = {}): RegistryNamer {
  return new RegistryNamer(config, backend, options);
}
