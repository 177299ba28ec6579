// DNS service discovery: io.l5d.dnssrv (/#/io.l5d.dnssrv/<srv record name>,
// SRV targets resolved to their IPs) and meshd.dns (/#/dns/<host>/<port>, A
// and AAAA records), each name re-resolved on an interval while observed. A
// DNS outage keeps the last answer; only NXDOMAIN says a name is gone.

import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import type { Path } from "../../dtab/index.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { errorText } from "../errors.ts";
import type { DnsNamerConfig, DnsSrvNamerConfig } from "./config.ts";
import { address, boundAddr, isHost, mountPath, ServiceAnswers, ServiceCell, type ServiceName } from "./service-namer.ts";
import type { Addr, Address, DiscoveryNamer, NamerAnswer, Watchable } from "./types.ts";
import { constant } from "./watchable.ts";

/** The queries the namers make; node:dns/promises' Resolver, or a stand-in. */
export interface DnsResolver {
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
  resolveSrv(hostname: string): Promise<{ name: string; port: number; priority: number; weight: number }[]>;
  /** Abandons the queries in flight (on close). */
  cancel?(): void;
}

export interface DnsNamerOptions {
  readonly logger?: Logger | undefined;
  /** How long one query waits for an answer before it is retried or fails (ms, default 2000). */
  readonly queryTimeoutMs?: number | undefined;
  /** Attempts per query (default 2). */
  readonly tries?: number | undefined;
  /** Queries go here instead of a Resolver built from the config (tests). */
  readonly resolver?: DnsResolver | undefined;
}

export const DEFAULT_DNS_QUERY_TIMEOUT_MS = 2000;
export const DEFAULT_DNS_TRIES = 2;

/**
 * Answers that say the name has no such records (NXDOMAIN, or NOERROR with
 * none): authoritative, unlike a timeout or SERVFAIL, which say nothing.
 */
const ABSENT = new Set(["ENOTFOUND", "ENODATA"]);

function absent(e: unknown): boolean {
  return ABSENT.has((e as NodeJS.ErrnoException | undefined)?.code ?? "");
}

/** The records, or undefined when DNS says there are none; throws on anything transient. */
async function records<T>(query: Promise<T[]>): Promise<T[] | undefined> {
  try {
    return await query;
  } catch (e) {
    if (absent(e)) return undefined;
    throw e;
  }
}

/** A host's IPv4 and IPv6 addresses, or undefined when DNS has neither. */
async function lookupHost(resolver: DnsResolver, host: string): Promise<string[] | undefined> {
  if (isIP(host) !== 0) return [host];
  // Both families or neither: one family's timeout must not drop the other's endpoints.
  const [v4, v6] = await Promise.all([records(resolver.resolve4(host)), records(resolver.resolve6(host))]);
  if (v4 === undefined && v6 === undefined) return undefined;
  return [...(v4 ?? []), ...(v6 ?? [])];
}

function buildResolver(dnsHosts: readonly string[] | undefined, options: DnsNamerOptions): DnsResolver {
  if (options.resolver !== undefined) return options.resolver;
  const resolver = new Resolver({ timeout: options.queryTimeoutMs ?? DEFAULT_DNS_QUERY_TIMEOUT_MS, tries: options.tries ?? DEFAULT_DNS_TRIES });
  // "10.0.0.2", "127.0.0.1:5353", "[::1]:53"; throws on anything else, at start-up.
  if (dnsHosts !== undefined) resolver.setServers([...dnsHosts]);
  return resolver;
}

/** How one DNS namer turns residuals into names and names into addresses. */
export interface DnsResolving {
  readonly kind: string;
  readonly prefix: string;
  readonly refreshIntervalSeconds: number;
  split(residual: Path): ServiceName | undefined;
  /** The name's Addr now (bound, or neg when DNS says it does not exist); throws when DNS cannot say. */
  lookup(key: string): Promise<Addr>;
  /** A name whose answer needs no DNS (an IP literal), or undefined. */
  fixed?(key: string): Addr | undefined;
  /** Stops what is in flight, on close. */
  close?(): void;
}

/** A DNS namer: each observed name resolved now and then every refresh interval, until nobody observes it. */
export class DnsNamer implements DiscoveryNamer {
  readonly kind: string;
  readonly prefix: Path;
  readonly #answers: ServiceAnswers;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #resolving: DnsResolving;

  constructor(resolving: DnsResolving, logger: Logger) {
    this.kind = resolving.kind;
    this.prefix = mountPath(resolving.prefix);
    this.#resolving = resolving;
    this.#intervalMs = resolving.refreshIntervalSeconds * 1000;
    this.#logger = logger.child({ namer: this.kind, prefix: this.prefix.show });
    this.#answers = new ServiceAnswers({
      prefix: this.prefix,
      logger: this.#logger,
      split: (residual) => resolving.split(residual),
      open: (key) => {
        const fixed = resolving.fixed?.(key);
        return fixed === undefined ? this.#poll(key) : constant(fixed);
      },
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
    this.#resolving.close?.();
  }

  #poll(key: string): Watchable<Addr> {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const context = { name: key };
    const cell = new ServiceCell(this.#logger, context, () => {
      stopped = true;
      clearTimeout(timer);
    });
    const run = async (): Promise<void> => {
      try {
        const addr = await this.#resolving.lookup(key);
        if (stopped) return;
        if (addr.type === "neg" && cell.current().type === "bound") this.#logger.info(context, "DNS says the name no longer exists; it is neg");
        cell.answer(addr);
      } catch (e) {
        if (stopped) return;
        cell.fail(`DNS lookup of ${key} failed: ${errorText(e)}`);
      }
      // The next query starts an interval after this one ended, so queries never pile up.
      timer = setTimeout(() => void run(), this.#intervalMs);
      timer.unref();
    };
    void run();
    return cell;
  }
}

/**
 * SRV weights as meta weights. Weight 0 means "a very small chance when
 * others have weight" (RFC 2782): a hundredth of the smallest other weight;
 * when all are 0 they are equal, so no weight is reported.
 */
function srvWeights(weights: readonly number[]): (weight: number) => number | undefined {
  const positive = weights.filter((w) => w > 0);
  if (positive.length === 0) return () => undefined;
  const tiny = Math.min(...positive) / 100;
  return (w) => (w > 0 ? w : tiny);
}

/**
 * io.l5d.dnssrv: /#/io.l5d.dnssrv/<srv record name>. Each SRV answer becomes
 * the target's addresses with its port (targets resolved with the same
 * resolver), meta weight from the SRV weight, `priority` and the target as
 * `nodeName`. Like Linkerd, every priority is included. NXDOMAIN or no SRV
 * records → neg.
 */
export function createDnsSrvNamer(config: DnsSrvNamerConfig, options: DnsNamerOptions = {}): DnsNamer {
  return dnsNamer(config, options, (resolver, logger) => ({
    split: (residual) => {
      const name = residual.segments[0];
      return name !== undefined && isHost(name) && isIP(name) === 0 ? { key: name, consumed: 1 } : undefined;
    },
    lookup: async (name) => {
      const srv = await records(resolver.resolveSrv(name));
      if (srv === undefined || srv.length === 0) return { type: "neg" };
      const weight = srvWeights(srv.map((r) => r.weight));
      const targetOf = (record: { name: string }): string => record.name.replace(/\.$/, "");
      // Target "." means "no service here" (RFC 2782). Each target once, all at the same time.
      const targets = [...new Set(srv.map(targetOf).filter((t) => t !== ""))];
      const resolved = new Map(await Promise.all(targets.map(async (t) => [t, await lookupHost(resolver, t)] as const)));
      const addrs: Address[] = [];
      for (const record of srv) {
        const target = targetOf(record);
        if (target === "") continue;
        const found = resolved.get(target);
        if (found === undefined) {
          logger.warn({ name, target }, "an SRV target does not resolve; leaving it out");
          continue;
        }
        for (const ip of found) addrs.push(address(ip, record.port, { weight: weight(record.weight), priority: record.priority, nodeName: target }));
      }
      return boundAddr(addrs);
    },
  }));
}

/**
 * meshd.dns: /#/dns/<hostname>/<port>, the host's A and AAAA records with
 * that port (an IP literal host needs no DNS). NXDOMAIN, or neither kind of
 * record → neg; a port that is not 1–65535 or a label that is not a host name → neg.
 */
export function createDnsNamer(config: DnsNamerConfig, options: DnsNamerOptions = {}): DnsNamer {
  const parse = (key: string): { host: string; port: number } => {
    const slash = key.lastIndexOf("/");
    return { host: key.slice(0, slash), port: Number(key.slice(slash + 1)) };
  };
  return dnsNamer(config, options, (resolver) => ({
    split: (residual) => {
      const [host, port] = residual.segments;
      if (host === undefined || port === undefined || !isHost(host)) return undefined;
      if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return undefined;
      return { key: `${host}/${Number(port)}`, consumed: 2 };
    },
    fixed: (key) => {
      const { host, port } = parse(key);
      return isIP(host) !== 0 ? boundAddr([address(host, port)]) : undefined;
    },
    lookup: async (key) => {
      const { host, port } = parse(key);
      const ips = await lookupHost(resolver, host);
      return ips === undefined ? { type: "neg" } : boundAddr(ips.map((ip) => address(ip, port)));
    },
  }));
}

/**
 * A DnsNamer for either config: its resolver, kind, prefix and interval come
 * from the config; `resolving` says how it names and looks up, with the
 * resolver and the namer's logger.
 */
function dnsNamer(
  config: DnsSrvNamerConfig | DnsNamerConfig,
  options: DnsNamerOptions,
  resolving: (resolver: DnsResolver, logger: Logger) => Pick<DnsResolving, "split" | "lookup" | "fixed">,
): DnsNamer {
  const logger = options.logger ?? silentLogger;
  const resolver = buildResolver(config.dnsHosts, options);
  return new DnsNamer(
    {
      ...resolving(resolver, logger),
      kind: config.kind,
      prefix: config.prefix,
      refreshIntervalSeconds: config.refreshIntervalSeconds,
      // Closing the namer cancels its queries in flight, unless the resolver was given to it (then it is the giver's).
      ...(options.resolver === undefined ? { close: () => resolver.cancel?.() } : {}),
    },
    logger,
  );
}
