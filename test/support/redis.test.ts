// The redis-server test helper: a real server on a free port that answers,
// can be killed like an outage, and comes back on the same port.
import { connect } from "node:net";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { useRedis } from "./redis.ts";

describe("test redis-server", () => {
  const redis = useRedis();

  it("answers on its own loopback port and stores data", async () => {
    const server = redis();
    expect(server.host).toBe("127.0.0.1");
    expect(server.port).toBeGreaterThan(0);
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      expect(await client.ping()).toBe("PONG");
      await client.set("meshd:test", "ok");
      expect(await client.get("meshd:test")).toBe("ok");
    } finally {
      client.disconnect();
    }
  });

  it("dies on kill and restarts empty on the same port", async () => {
    const server = redis();
    await server.kill();
    expect(server.running).toBe(false);
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(server.port, server.host);
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(refused).toBe("ECONNREFUSED");
    await server.start();
    expect(server.running).toBe(true);
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      expect(await client.get("meshd:test")).toBeNull();
    } finally {
      client.disconnect();
    }
  });
});
