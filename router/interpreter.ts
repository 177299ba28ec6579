// How a router binds names: the `default` interpreter runs the namers
// itself over the router's own dtab; `io.l5d.namerd.http` asks a namer
// (see namer/client). Both answer the same live Binding.
import { Path, type DelegateJson, type Dtab } from "../dtab/index.ts";
import type { Logger } from "../lib/log.ts";
import { NameInterpreter, type Binding, type DtabSource, type LiveValue, type VersionedDtab } from "../namer/interpreter/interpreter.ts";
import type { DiscoveryNamer, Unsubscribe } from "../namer/namers/types.ts";

export interface RouterInterpreter {
  /** The live binding of a logical name; `local` is everything after the base dtab (router dtab, then request dtabs). */
  bind(path: Path, local: Dtab): LiveValue<Binding>;
  /** Explains how a path resolves (Linkerd's delegator JSON), with `local` after the base dtab. */
  explain(path: Path, local: Dtab): Promise<DelegateJson>;
  /** Why it cannot route yet (no namer reached and nothing saved), or undefined when it can. */
  notReady?(): string | undefined;
  close(): Promise<void>;
}

/** A dtab that lives in the router's config: one namespace, replaced on reload. */
export class StaticDtabSource implements DtabSource {
  static readonly NAMESPACE = "router";
  #state: VersionedDtab;
  readonly #listeners = new Set<(state: VersionedDtab | undefined) => void>();
  #version = 1;

  constructor(dtab: Dtab) {
    this.#state = { namespace: StaticDtabSource.NAMESPACE, dtab, version: "1", updatedAt: new Date().toISOString() };
  }

  async get(): Promise<VersionedDtab | undefined> {
    return this.#state;
  }

  watch(_namespace: string, listener: (state: VersionedDtab | undefined) => void): Unsubscribe {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => this.#listeners.delete(listener);
  }

  /** Replaces the dtab (config reload); live bindings re-evaluate. */
  set(dtab: Dtab): void {
    if (dtab.equals(this.#state.dtab)) return;
    this.#state = { namespace: StaticDtabSource.NAMESPACE, dtab, version: String(++this.#version), updatedAt: new Date().toISOString() };
    for (const l of [...this.#listeners]) l(this.#state);
  }
}

/** Linkerd's `default` interpreter: the router's dtab over its own namers (and the /$ system namers). */
export class LocalInterpreter implements RouterInterpreter {
  readonly dtab: StaticDtabSource;
  readonly #interpreter: NameInterpreter;

  /** The namers are shared by every router of the process and closed by their owner, not here. */
  constructor(dtab: Dtab, namers: readonly DiscoveryNamer[], options: { logger: Logger; idleMs: number }) {
    this.dtab = new StaticDtabSource(dtab);
    this.#interpreter = new NameInterpreter(this.dtab, namers, { logger: options.logger, idleMs: options.idleMs });
  }

  bind(path: Path, local: Dtab): LiveValue<Binding> {
    return this.#interpreter.bind(StaticDtabSource.NAMESPACE, path, local);
  }

  explain(path: Path, local: Dtab): Promise<DelegateJson> {
    return this.#interpreter.delegate(StaticDtabSource.NAMESPACE, path, local);
  }

  async close(): Promise<void> {
    this.#interpreter.close();
  }
}

/** The namer's base URL from Linkerd's `dst` (/$/inet/<host>/<port>) or a URL. */
export function namerUrl(dst: string): string {
  if (/^https?:\/\//.test(dst)) return dst.replace(/\/+$/, "");
  const segs = Path.read(dst).segments;
  if (segs[0] === "$" && (segs[1] === "inet" || segs[1] === "fixedinet") && segs.length === 4) {
    const host = segs[2] as string;
    return `http://${host.includes(":") ? `[${host}]` : host}:${segs[3]}`;
  }
  throw new RangeError(`interpreter dst must be /$/inet/<host>/<port> or an http:// URL, got ${dst}`);
}
