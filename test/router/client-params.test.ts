// Per-client parameters chosen by prefix (client kind io.l5d.static) reach
// the connections themselves: hostConnectionPool.maxSize caps one
// client's connections to an endpoint while another client keeps the default.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "../support/http.ts";
import { startRouterProcess, type RouterProcess } from "../support/router.ts";

/** A backend that answers after 50 ms and remembers which client sockets it saw. */
async function socketCounter(): Promise<{ server: Server; port: number; sockets: Set<number> }> {
  const sockets = new Set<number>();
  const server = createServer((req, res) => {
    sockets.add(req.socket.remotePort ?? 0);
    req.resume();
    setTimeout(() => res.end("ok\n"), 50);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

describe("client parameters by prefix", () => {
  let capped: Awaited<ReturnType<typeof socketCounter>>;
  let open: Awaited<ReturnType<typeof socketCounter>>;
  let router: RouterProcess;

  beforeAll(async () => {
    [capped, open] = await Promise.all([socketCounter(), socketCounter()]);
    router = await startRouterProcess({
      routers: [
        {
          protocol: "http",
          dtab: `/svc/capped => /$/inet/127.0.0.1/${capped.port}; /svc/open => /$/inet/127.0.0.1/${open.port}`,
          client: { kind: "io.l5d.static", configs: [{ prefix: `/$/inet/127.0.0.1/${capped.port}`, hostConnectionPool: { maxSize: 1 }, connectTimeoutMs: 500 }] },
          servers: [{}],
        },
      ],
    });
  });

  afterAll(async () => {
    await router?.stop();
    capped?.server.close();
    open?.server.close();
  });

  it("caps connections for the client its prefix matches, and only that one", async () => {
    const url = router.servers[0]?.[0] as string;
    const replies = await Promise.all([...Array.from({ length: 8 }, () => get(url, "capped")), ...Array.from({ length: 8 }, () => get(url, "open"))]);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(capped.sockets.size).toBe(1);
    expect(open.sockets.size).toBeGreaterThan(1);
  });
});
