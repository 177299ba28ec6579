// The namer's service-discovery namers: the contract, each kind's factory,
// and createDiscoveryNamers, which builds the configured ones in order.

import { type Logger, silentLogger } from "../../lib/log.ts";
import type { RegistryBackend } from "../registry/types.ts";
import type { NamerPluginConfig } from "./config.ts";
import { createDnsNamer, createDnsSrvNamer } from "./dns.ts";
import { createFsNamer } from "./fs.ts";
import { createRegistryNamer } from "./registry.ts";
import { createStaticNamer } from "./static.ts";
import type { DiscoveryNamer } from "./types.ts";

export type { Addr, Address, DiscoveryNamer, NamerAnswer, Unsubscribe, Watchable } from "./types.ts";
export { namerPluginSchema } from "./config.ts";
export type { DnsNamerConfig, DnsSrvNamerConfig, FsNamerConfig, NamerPluginConfig, RegistryNamerConfig, StaticNamerConfig } from "./config.ts";
export { Cell, constant, mapWatchable, sameValue, SharedWatches } from "./watchable.ts";
export type { CellOptions, Equality } from "./watchable.ts";
export { createFsNamer, DEFAULT_FS_RESCAN_INTERVAL_MS, DEFAULT_FS_SETTLE_MS, FsNamer, parseFsAddresses } from "./fs.ts";
export type { FsNamerOptions, FsParseResult } from "./fs.ts";
export { createDnsNamer, createDnsSrvNamer, DEFAULT_DNS_QUERY_TIMEOUT_MS, DEFAULT_DNS_TRIES, DnsNamer } from "./dns.ts";
export type { DnsNamerOptions, DnsResolver } from "./dns.ts";
export { createStaticNamer, StaticNamer } from "./static.ts";
export type { StaticNamerOptions } from "./static.ts";
export { createRegistryNamer, instancesAddr, RegistryNamer } from "./registry.ts";
export type { RegistryNamerOptions } from "./registry.ts";

export interface DiscoveryNamerDeps {
  readonly logger?: Logger | undefined;
  /** The registry meshd.registry namers read; required when one is configured. */
  readonly registry?: RegistryBackend | undefined;
}

/**
 * Builds the configured namers, in config order (the order they are tried
 * in). Throws RangeError for a configuration that cannot work: meshd.registry
 * without a registry, unusable dnsHosts, a static address that is not host:port.
 */
export function createDiscoveryNamers(configs: readonly NamerPluginConfig[], deps: DiscoveryNamerDeps = {}): DiscoveryNamer[] {
  const logger = deps.logger ?? silentLogger;
  return configs.map((config): DiscoveryNamer => {
    switch (config.kind) {
      case "io.l5d.fs":
        return createFsNamer(config, { logger });
      case "io.l5d.dnssrv":
        return createDnsSrvNamer(config, { logger });
      case "meshd.dns":
        return createDnsNamer(config, { logger });
      case "meshd.static":
        return createStaticNamer(config, { logger });
      case "meshd.registry":
        if (deps.registry === undefined) throw new RangeError(`the meshd.registry namer at ${config.prefix} needs a registry backend`);
        return createRegistryNamer(config, deps.registry, { logger });
      default: {
        const never: never = config;
        throw new RangeError(`unknown namer kind ${(never as { kind: string }).kind}`);
      }
    }
  });
}
