// The name interpreter: turns (namespace, path, local dtab) into a live
// bound tree by binding through the namespace's dtab ++ the caller's local
// dtab over the configured namers, re-evaluating whenever the dtab or any
// address set it used changes. Results are shared between watchers, cached
// while idle, and an error or a still-pending answer never replaces a good
// value (DESIGN §5).
import {
  DtabError,
  Dtab,
  NameTree,
  type Path,
  bind,
  delegate,
  parseAddress,
  systemLookup,
  type AddrJson,
  type BoundName,
  type DelegateJson,
  type Namer,
} from "../../dtab/index.ts";
import type { Logger } from "../../lib/log.ts";
import type { Addr, Address, DiscoveryNamer, NamerAnswer, Unsubscribe, Watchable } from "../namers/types.ts";
import type { VersionedDtab } from "../store/types.ts";

export type { VersionedDtab };

/**
 * Where namespace dtabs come from: the namer's store, or a router's own
 * config (a fixed dtab that a reload can replace). `watch` calls the
 * listener at once with the current state and again on every change.
 */
export interface DtabSource {
  get(namespace: string): Promise<VersionedDtab | undefined>;
  watch(namespace: string, listener: (state: VersionedDtab | undefined) => void): Unsubscribe;
}
import { Cell } from "../namers/watchable.ts";
import { IdleCache, type Lease } from "./idle-cache.ts";

/** One leaf of a bound tree: the bound id, what it left unconsumed, its live address set, its union weight. */
export interface BoundLeaf {
  readonly id: Path;
  readonly residual: Path;
  readonly addr: Addr;
  readonly weight?: number;
}

export type Binding =
  | { readonly type: "ok"; readonly tree: NameTree<BoundLeaf> }
  | { readonly type: "pending" }
  | { readonly type: "failed"; readonly code: string; readonly cause: string };

export interface InterpreterOptions {
  readonly logger: Logger;
  /** How long an unwatched binding or namer observation is kept warm (ms). */
  readonly idleMs?: number;
}

const PENDING: Binding = { type: "pending" };

/** Longest a binding with branches still waiting on discovery is held back before it is published as it is (ms). */
export const PARTIAL_HOLD_MS = 1_000;

/** A lease on a live value; `close` gives it back to the interpreter's cache. */
export type LiveValue<T> = Watchable<T>;

/** Equality by a canonical key: bound trees hold Paths, so compare their printed forms. */
function byKey<T>(key: (v: T) => string): (a: T, b: T) => boolean {
  return (a, b) => key(a) === key(b);
}

function addrKey(addr: Addr): string {
  return JSON.stringify(addr);
}

export function bindingKey(b: Binding): string {
  if (b.type !== "ok") return JSON.stringify(b);
  return JSON.stringify(
    NameTree.map(b.tree, (leaf) => ({ id: leaf.id.show, residual: leaf.residual.show, addr: leaf.addr, weight: leaf.weight })),
  );
}

/** Addresses of a name bound by a system namer (/$/inet/...), known from the path alone. */
function addrOfBoundName(name: BoundName): Addr {
  const addrs: Address[] = [];
  for (const a of name.addrs) {
    const parsed = parseAddress(a);
    if (parsed !== undefined) addrs.push({ host: parsed.host, port: parsed.port, meta: {} });
  }
  return { type: "bound", addrs, meta: {} };
}

function pendingError(id: string): DtabError {
  return new DtabError("DTAB_ERR_NAME_PENDING", `${id} has no answer from discovery yet`);
}

/** A namer answer as the dtab core's synchronous namer result; pending and failed answers throw. */
function answerTree(answer: NamerAnswer, what: string, addrs: Map<string, Addr>): NameTree<BoundName | Path> {
  switch (answer.type) {
    case "neg":
      return NameTree.neg;
    case "pending":
      throw pendingError(what);
    case "failed":
      throw new Error(answer.cause);
    case "bound": {
      addrs.set(answer.id.show, answer.addr);
      const list = answer.addr.type === "bound" ? answer.addr.addrs.map((a) => (a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)) : [];
      return NameTree.leaf({ id: answer.id, residual: answer.residual, addrs: list });
    }
  }
}

function failure(e: unknown): Binding {
  if (e instanceof DtabError) return e.code === "DTAB_ERR_NAME_PENDING" ? PENDING : { type: "failed", code: e.code, cause: e.message };
  return { type: "failed", code: "NAMER_ERR_INTERNAL", cause: e instanceof Error ? e.message : String(e) };
}

export class NameInterpreter {
  readonly #store: DtabSource;
  readonly #namers: readonly DiscoveryNamer[];
  readonly #logger: Logger;
  /** Shared namer observations, keyed "<namer index> <residual>". */
  readonly #observations: IdleCache<Watchable<NamerAnswer>>;
  /** Shared live bindings, keyed by namespace, path and local dtab. */
  readonly #bindings: IdleCache<LiveBinding>;
  /** The namers' listings of what they can bind. */
  readonly #names: IdleCache<{ cell: Cell<readonly string[]>; dispose(): void }>;

  constructor(store: DtabSource, namers: readonly DiscoveryNamer[], options: InterpreterOptions) {
    this.#store = store;
    this.#namers = namers;
    this.#logger = options.logger;
    const idleMs = options.idleMs ?? 60_000;
    this.#observations = new IdleCache({ idleMs, dispose: (w) => w.close() });
    this.#bindings = new IdleCache({ idleMs, dispose: (b) => b.dispose() });
    this.#names = new IdleCache({ idleMs, dispose: (n) => n.dispose() });
  }

  /** Live bindings and namer observations held (for metrics and tests). */
  get cached(): { bindings: number; observations: number; activeBindings: number } {
    return { bindings: this.#bindings.size, observations: this.#observations.size, activeBindings: this.#bindings.active };
  }

  get namers(): readonly DiscoveryNamer[] {
    return this.#namers;
  }

  /** @internal A lease on the shared observation of `residual` by namer `index`. */
  observe(index: number, residual: Path): Lease<Watchable<NamerAnswer>> {
    const namer = this.#namers[index] as DiscoveryNamer;
    return this.#observations.acquire(`${index} ${residual.show}`, () => namer.observe(residual));
  }

  /** The live binding of `path` in namespace `ns` with `local` appended to its dtab. Close it when done. */
  bind(ns: string, path: Path, local: Dtab = Dtab.empty): LiveValue<Binding> {
    const lease = this.#bindings.acquire(`${ns}\n${path.show}\n${local.show}`, () => new LiveBinding(this, this.#store, this.#logger, ns, path, local));
    return leased(lease, (b) => b.cell);
  }

  /** The live address set of a bound id (as /api/1/addr answers): through the namer that owns its prefix. */
  addr(id: Path): LiveValue<Addr> {
    const stripped = stripTransformerPrefix(id);
    const index = this.#namers.findIndex((n) => stripped.startsWith(n.prefix));
    if (index < 0) {
      let addr: Addr;
      try {
        const tree = systemLookup(stripped);
        addr = tree.type === "leaf" ? addrOfBoundName(tree.value) : tree.type === "empty" ? { type: "bound", addrs: [], meta: {} } : { type: "neg" };
      } catch (e) {
        addr = { type: "failed", cause: e instanceof Error ? e.message : String(e) };
      }
      return constant(addr);
    }
    const namer = this.#namers[index] as DiscoveryNamer;
    const lease = this.observe(index, stripped.drop(namer.prefix.size));
    const toAddr = (a: NamerAnswer): Addr => (a.type === "bound" ? a.addr : a.type === "failed" ? { type: "failed", cause: a.cause } : a);
    const cell = new Cell<Addr>(toAddr(lease.value.current()), { equals: byKey(addrKey), logger: this.#logger });
    const unsubscribe = lease.value.subscribe((a) => {
      // A known address set is not dropped for a later failure.
      if (a.type === "failed" && cell.current().type === "bound") return;
      cell.set(toAddr(a));
    });
    return {
      current: () => cell.current(),
      subscribe: (l) => cell.subscribe(l),
      close: () => {
        unsubscribe();
        lease.release();
      },
    };
  }

  /**
   * Bind and pick in one (namerd's resolve): the bound tree's address set,
   * choosing a union branch at random by weight; neg when nothing binds.
   */
  resolve(ns: string, path: Path, local: Dtab = Dtab.empty, random: () => number = Math.random): LiveValue<Addr> {
    const binding = this.bind(ns, path, local);
    const pick = (b: Binding): Addr => {
      if (b.type === "pending") return { type: "pending" };
      if (b.type === "failed") return { type: "failed", cause: b.cause };
      return pickAddr(b.tree, random);
    };
    const cell = new Cell<Addr>(pick(binding.current()), { equals: byKey(addrKey), logger: this.#logger });
    const unsubscribe = binding.subscribe((b) => cell.set(pick(b)));
    return {
      current: () => cell.current(),
      subscribe: (l) => cell.subscribe(l),
      close: () => {
        unsubscribe();
        binding.close();
      },
    };
  }

  /**
   * Explains how `path` resolves (Linkerd's delegator JSON): the namespace's
   * dtab (none when `ns` is undefined) ++ `local`. Waits up to `timeoutMs`
   * for discovery answers that are still pending; resolves with the tree or
   * rejects with a DtabError.
   */
  async delegate(ns: string | undefined, path: Path, local: Dtab = Dtab.empty, timeoutMs = 2_000): Promise<DelegateJson> {
    const base = ns === undefined ? Dtab.empty : ((await this.#store.get(ns))?.dtab ?? Dtab.empty);
    const dtab = Dtab.concat(base, local);
    const leases = new Map<string, Lease<Watchable<NamerAnswer>>>();
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        const pending: Watchable<NamerAnswer>[] = [];
        const addrs = new Map<string, Addr>();
        const adapters = this.#namers.map((namer, index): Namer => ({
          prefix: namer.prefix,
          lookup: (residual) => {
            const key = `${index} ${residual.show}`;
            let lease = leases.get(key);
            if (lease === undefined) {
              lease = this.observe(index, residual);
              leases.set(key, lease);
            }
            const answer = lease.value.current();
            if (answer.type === "pending") pending.push(lease.value);
            return answerTree(answer, namer.prefix.concat(residual).show, addrs);
          },
        }));
        const tree = delegate(dtab, path, adapters);
        const remaining = deadline - Date.now();
        if (pending.length === 0 || remaining <= 0) return withLiveAddrs(tree, addrs);
        await firstChange(pending, remaining);
      }
    } finally {
      for (const lease of leases.values()) lease.release();
    }
  }

  /**
   * Every name the enumerable namers can bind, sorted (for /api/1/bound-names).
   * The underlying listings stay open while idle, so asking again is cheap.
   */
  boundNames(): LiveValue<readonly string[]> {
    const lease = this.#names.acquire("names", () => {
      const sources = this.#namers.flatMap((n) => (n.names === undefined ? [] : [n.names()]));
      const collect = (): readonly string[] => [...new Set(sources.flatMap((s) => s.current().map((p) => p.show)))].sort();
      const cell = new Cell<readonly string[]>(collect(), { equals: byKey((v: readonly string[]) => v.join("\n")), logger: this.#logger });
      const unsubscribes = sources.map((s) => s.subscribe(() => cell.set(collect())));
      return {
        cell,
        dispose: () => {
          for (const u of unsubscribes) u();
          for (const s of sources) s.close();
        },
      };
    });
    return leased(lease, (v) => v.cell);
  }

  close(): void {
    this.#names.clear();
    this.#bindings.clear();
    this.#observations.clear();
  }
}

/** Linkerd's transformers rewrite bound ids to /%/<transformer>/…; an addr request strips that first. */
function stripTransformerPrefix(id: Path): Path {
  return id.segments[0] === "%" && id.size >= 2 ? id.drop(2) : id;
}

function constant<T>(value: T): LiveValue<T> {
  return { current: () => value, subscribe: () => () => undefined, close: () => undefined };
}

/**
 * A live view of a leased cell; closing it drops its subscriptions and gives
 * the lease back (a second close finds nothing left and release() is idempotent).
 */
export function leased<T, U>(lease: Lease<T>, cellOf: (value: T) => Cell<U>): LiveValue<U> {
  const cell = cellOf(lease.value);
  const unsubscribes: Unsubscribe[] = [];
  return {
    current: () => cell.current(),
    subscribe: (listener) => {
      const u = cell.subscribe(listener);
      unsubscribes.push(u);
      return u;
    },
    close: () => {
      for (const u of unsubscribes.splice(0)) u();
      lease.release();
    },
  };
}

function firstChange(watchables: readonly Watchable<NamerAnswer>[], timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribes: Unsubscribe[] = [];
    const done = (): void => {
      clearTimeout(timer);
      for (const u of unsubscribes) u();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    for (const w of watchables) unsubscribes.push(w.subscribe(done));
  });
}

function pickAddr(tree: NameTree<BoundLeaf>, random: () => number): Addr {
  switch (tree.type) {
    case "leaf":
      return tree.value.addr;
    case "neg":
      return { type: "neg" };
    case "fail":
      return { type: "failed", cause: "the name binds to a failure (!)" };
    case "empty":
      return { type: "bound", addrs: [], meta: {} };
    case "alt":
      for (const t of tree.trees) {
        const a = pickAddr(t, random);
        if (a.type !== "neg") return a;
      }
      return { type: "neg" };
    case "union": {
      const total = tree.trees.reduce((sum, w) => sum + Math.max(0, w.weight), 0);
      let r = random() * (total > 0 ? total : tree.trees.length);
      for (const w of tree.trees) {
        r -= total > 0 ? Math.max(0, w.weight) : 1;
        if (r < 0) return pickAddr(w.tree, random);
      }
      return pickAddr((tree.trees.at(-1) as { tree: NameTree<BoundLeaf> }).tree, random);
    }
  }
}

/** The explanation with each bound leaf's address set as discovery reports it (meta, weights included). */
function withLiveAddrs(tree: DelegateJson, addrs: ReadonlyMap<string, Addr>): DelegateJson {
  const walk = (node: DelegateJson): DelegateJson => {
    switch (node.type) {
      case "delegate":
        return { ...node, delegate: walk(node.delegate) };
      case "alt":
        return { ...node, alt: node.alt.map(walk) };
      case "union":
        return { ...node, union: node.union.map((w) => ({ weight: w.weight, tree: walk(w.tree) })) };
      case "leaf": {
        const live = addrs.get(node.bound.id);
        return live === undefined ? node : { ...node, bound: { ...node.bound, addr: addrJson(live) } };
      }
      default:
        return node;
    }
  };
  return walk(tree);
}

/** namerd's address JSON: {"type":"bound","addrs":[{"ip","port","meta"}],"meta":{}} (or neg, pending, failed). */
export function addrJson(addr: Addr): AddrJson {
  if (addr.type !== "bound") return addr;
  return { type: "bound", addrs: addr.addrs.map((a) => ({ ip: a.host, port: a.port, meta: { ...a.meta } })), meta: { ...addr.meta } };
}

/** One live binding; re-evaluated on any change of the namespace's dtab or of a namer answer it used. */
class LiveBinding {
  readonly cell: Cell<Binding>;
  readonly #interpreter: NameInterpreter;
  readonly #logger: Logger;
  readonly #path: Path;
  readonly #local: Dtab;
  readonly #deps = new Map<string, { lease: Lease<Watchable<NamerAnswer>>; unsubscribe: Unsubscribe }>();
  readonly #unwatchStore: Unsubscribe;
  #dtab: Dtab = Dtab.empty;
  #scheduled = false;
  #disposed = false;
  /** Set while a partial answer (some branch still waiting on discovery) is being held back. */
  #holdTimer: NodeJS.Timeout | undefined;
  #acceptPartial = false;

  constructor(interpreter: NameInterpreter, store: DtabSource, logger: Logger, ns: string, path: Path, local: Dtab) {
    this.#interpreter = interpreter;
    this.#logger = logger.child({ namespace: ns, path: path.show });
    this.#path = path;
    this.#local = local;
    this.cell = new Cell<Binding>(PENDING, { equals: byKey(bindingKey), logger });
    // A namespace that does not exist binds as an empty dtab (namerd's rule).
    this.#unwatchStore = store.watch(ns, (state) => {
      this.#dtab = state?.dtab ?? Dtab.empty;
      this.#schedule();
    });
    this.#evaluate();
  }

  #schedule(): void {
    if (this.#scheduled || this.#disposed) return;
    this.#scheduled = true;
    // Changes that arrive together (a dtab and the namers it now uses) cost one evaluation.
    queueMicrotask(() => {
      this.#scheduled = false;
      if (!this.#disposed) this.#evaluate();
    });
  }

  #evaluate(): void {
    const used = new Set<string>();
    const addrs = new Map<string, Addr>();
    let waiting = false;
    const adapters = this.#interpreter.namers.map((namer, index): Namer => ({
      prefix: namer.prefix,
      lookup: (residual) => {
        const key = `${index} ${residual.show}`;
        used.add(key);
        let dep = this.#deps.get(key);
        if (dep === undefined) {
          const lease = this.#interpreter.observe(index, residual);
          dep = { lease, unsubscribe: lease.value.subscribe(() => this.#schedule()) };
          this.#deps.set(key, dep);
        }
        const answer = dep.lease.value.current();
        if (answer.type === "pending") waiting = true;
        return answerTree(answer, namer.prefix.concat(residual).show, addrs);
      },
    }));
    let result: Binding;
    try {
      const tree = bind(Dtab.concat(this.#dtab, this.#local), this.#path, adapters);
      result = {
        type: "ok",
        tree: NameTree.map(tree, (b) => ({
          id: b.id,
          residual: b.residual,
          addr: addrs.get(b.id.show) ?? addrOfBoundName(b),
          ...(b.weight === undefined ? {} : { weight: b.weight }),
        })),
      };
    } catch (e) {
      result = failure(e);
    }
    // Observations this evaluation no longer needed are let go (they idle in the cache a while).
    for (const [key, dep] of this.#deps) {
      if (used.has(key)) continue;
      dep.unsubscribe();
      dep.lease.release();
      this.#deps.delete(key);
    }
    if (result.type !== "ok" && this.cell.current().type === "ok") {
      if (result.type === "failed") this.#logger.warn({ code: result.code, cause: result.cause }, "binding failed; keeping the last good binding");
      return;
    }
    // A union binds without its branches that are still waiting on discovery (Finagle's rule), which
    // would briefly send all traffic to the others. Hold such a partial answer back while discovery
    // catches up (its answers re-run this), but never longer than PARTIAL_HOLD_MS.
    if (waiting && result.type === "ok" && !this.#acceptPartial) {
      this.#holdTimer ??= setTimeout(() => {
        this.#acceptPartial = true;
        this.#evaluate();
        this.#acceptPartial = false;
        this.#holdTimer = undefined;
      }, PARTIAL_HOLD_MS);
      return;
    }
    if (this.#holdTimer !== undefined && !waiting) {
      clearTimeout(this.#holdTimer);
      this.#holdTimer = undefined;
    }
    this.cell.set(result);
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#holdTimer !== undefined) clearTimeout(this.#holdTimer);
    this.#unwatchStore();
    for (const dep of this.#deps.values()) {
      dep.unsubscribe();
      dep.lease.release();
    }
    this.#deps.clear();
  }
}
