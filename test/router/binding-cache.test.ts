// The router's caches are bounded (Linkerd's bindingCache.paths and
// .clients): a flood of one-off Host values, as from a buggy app, keeps at
// most `paths` bindings, and more bound names than `clients` keep at most
// that many clients; every request is still answered.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Backend } from "../support/backend.ts";
import { get } from "../support/http.ts";
import { startRouterProcess, type RouterProcess } from "../support/router.ts";

interface RouterCaches {
  readonly label: string;
  readonly logicals: number;
  readonly clients: number;
}

describe("a router's binding and client caches", () => {
  let backends: Backend[] = [];
  let router: RouterProcess;
  let url: string;

  const caches = async (): Promise<RouterCaches> => {
    const all = (await (await fetch(`${router.adminUrl}/admin/routers.json`)).json()) as RouterCaches[];
    return all[0] as RouterCaches;
  };

  beforeAll(async () => {
    backends = await Promise.all(["a", "b", "c"].map((n) => Backend.start(n)));
    const [a, b, c] = backends as [Backend, Backend, Backend];
    router = await startRouterProcess({
      routers: [
        {
          protocol: "http",
          // Any name goes to a (one client); b and c are clients of their own.
          dtab: `/svc => /$/inet/127.0.0.1/${a.port} ; /svc/b => /$/inet/127.0.0.1/${b.port} ; /svc/c => /$/inet/127.0.0.1/${c.port}`,
          bindingCache: { paths: 20, clients: 2 },
          servers: [{}],
        },
      ],
    });
    url = router.servers[0]?.[0] as string;
  });

  afterAll(async () => {
    await router?.stop();
    await Promise.all(backends.map((b) => b.stop()));
  });

  it("keeps at most `paths` bindings under a flood of distinct names, answering every request", async () => {
    for (let i = 0; i < 100; i++) expect((await get(url, `one-off-${i}`)).status).toBe(200);
    const { logicals } = await caches();
    expect(logicals).toBeGreaterThan(0);
    expect(logicals).toBeLessThanOrEqual(20);
    // The most recent names are the ones kept: an old one is bound again, and answered.
    expect((await get(url, "one-off-0")).status).toBe(200);
  });

  it("keeps at most `clients` clients, draining the least recently used", async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const host = ["b", "c", "one-off-99"][i % 3] as string;
      const r = await get(url, host);
      expect(r.status).toBe(200);
      const backend = (JSON.parse(r.body) as { backend: string }).backend;
      seen.set(backend, (seen.get(backend) ?? 0) + 1);
    }
    expect(Object.fromEntries(seen)).toEqual({ a: 10, b: 10, c: 10 });
    expect((await caches()).clients).toBeLessThanOrEqual(2);
  });
});
