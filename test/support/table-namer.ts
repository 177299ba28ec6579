// A discovery namer whose services a test sets directly: the smallest real
// implementation of the DiscoveryNamer contract, for exercising the
// interpreter's re-evaluation, sharing and caching precisely. It counts
// observations opened and closed so tests can see resources released.
import { Path } from "../../dtab/index.ts";
import type { Addr, DiscoveryNamer, NamerAnswer, Unsubscribe, Watchable } from "../../namer/namers/types.ts";

export class TableNamer implements DiscoveryNamer {
  readonly kind = "test.table";
  readonly prefix: Path;
  readonly #services = new Map<string, Addr | "pending" | { failed: string }>();
  readonly #listeners = new Map<string, Set<() => void>>();
  opened = 0;
  closed = 0;

  constructor(prefix = "/#/table") {
    this.prefix = Path.read(prefix);
  }

  /** Sets a service's state: an address list ("host:port"), "pending", {failed}, or undefined to remove it (neg). */
  set(service: string, state: readonly string[] | "pending" | { failed: string } | undefined): void {
    if (state === undefined) this.#services.delete(service);
    else if (state === "pending" || !Array.isArray(state)) this.#services.set(service, state as "pending" | { failed: string });
    else {
      const addrs = (state as readonly string[]).map((a) => {
        const [host, port] = a.split(":");
        return { host: host as string, port: Number(port), meta: {} };
      });
      this.#services.set(service, { type: "bound", addrs, meta: {} });
    }
    for (const l of [...(this.#listeners.get(service) ?? [])]) l();
  }

  #answer(residual: Path): NamerAnswer {
    const service = residual.segments[0];
    if (service === undefined) return { type: "neg" };
    const state = this.#services.get(service);
    if (state === undefined) return { type: "neg" };
    if (state === "pending") return { type: "pending" };
    if ("failed" in state) return { type: "failed", cause: state.failed };
    return { type: "bound", id: this.prefix.concat(residual.take(1)), residual: residual.drop(1), addr: state };
  }

  observe(residual: Path): Watchable<NamerAnswer> {
    this.opened++;
    const service = residual.segments[0] ?? "";
    let last = JSON.stringify(this.#answer(residual));
    const subscribers = new Set<(a: NamerAnswer) => void>();
    const onChange = (): void => {
      const now = this.#answer(residual);
      const key = JSON.stringify(now);
      if (key === last) return;
      last = key;
      for (const s of [...subscribers]) s(now);
    };
    let set = this.#listeners.get(service);
    if (set === undefined) this.#listeners.set(service, (set = new Set()));
    set.add(onChange);
    let open = true;
    return {
      current: () => this.#answer(residual),
      subscribe: (listener): Unsubscribe => {
        subscribers.add(listener);
        return () => subscribers.delete(listener);
      },
      close: () => {
        if (!open) return;
        open = false;
        this.closed++;
        set.delete(onChange);
      },
    };
  }

  async close(): Promise<void> {}
}
