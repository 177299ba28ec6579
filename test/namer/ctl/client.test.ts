// The namer API client: the URLs and headers it sends (path prefixes kept,
// If-Match always on writes, the token never in messages) and how it turns
// answers and network failures into typed errors, timeouts included.
import { createServer, type Server, type Socket } from "node:net";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dtab } from "../../../dtab/index.ts";
import { NamerClient, checkNamespace, parseBaseUrl } from "../../../namer/ctl/client.ts";
import { ApiError, CtlError, UnreachableError, UsageError } from "../../../namer/ctl/errors.ts";
import { fakeFetch, jsonResponse } from "../../support/http.ts";

describe("NamerClient requests", () => {
  it("keeps the base URL's path prefix and escapes nothing it should not", async () => {
    const f = fakeFetch(() => jsonResponse(200, [{ prefix: "/a", dst: "/b" }], { etag: "3" }));
    const client = new NamerClient({ baseUrl: "https://namer.example:8443/mesh/", timeoutMs: 1000, fetch: f.fetch });
    const got = await client.get("default");
    expect(got.version).toBe("3");
    expect(got.dtab.show).toBe("/a=>/b");
    expect(f.seen[0]?.url).toBe("https://namer.example:8443/mesh/api/1/dtabs/default");
    await client.history("default", 5).catch(() => undefined);
    expect(f.seen[1]?.url).toBe("https://namer.example:8443/mesh/api/1/dtabs/default/history?limit=5");
  });

  it("sends the token, the operator and If-Match on writes, JSON bodies, and no user on reads", async () => {
    const f = fakeFetch((req) => (req.method === "GET" ? jsonResponse(200, ["a"]) : new Response(null, { status: 204, headers: { etag: "8" } })));
    const client = new NamerClient({ baseUrl: "http://n:4180", token: "tok", user: "alice", timeoutMs: 1000, fetch: f.fetch });
    await client.list();
    expect(await client.update("ns", Dtab.read("/a=>/b"), "7")).toBe("8");
    expect(await client.create("ns2", Dtab.read("/c=>/d"))).toBe("8");
    expect(await client.delete("ns", "8")).toBe("8");
    const [list, put, post, del] = f.seen;
    expect(list?.headers["x-meshd-user"]).toBeUndefined();
    expect(put).toMatchObject({ method: "PUT", url: "http://n:4180/api/1/dtabs/ns", body: '[{"prefix":"/a","dst":"/b"}]' });
    expect(put?.headers).toMatchObject({ authorization: "Bearer tok", "x-meshd-user": "alice", "if-match": "7", "content-type": "application/json" });
    expect(post?.headers["if-match"]).toBeUndefined();
    expect(del).toMatchObject({ method: "DELETE", headers: expect.objectContaining({ "if-match": "8" }) });
  });

  it("posts rollbacks with the target in the query and If-Match when given", async () => {
    const f = fakeFetch(() => jsonResponse(200, { namespace: "ns", version: "5", restoredVersion: "2" }));
    const client = new NamerClient({ baseUrl: "http://n", timeoutMs: 1000, fetch: f.fetch });
    expect(await client.rollback("ns", "2", "4")).toEqual({ namespace: "ns", version: "5", restoredVersion: "2" });
    expect(f.seen[0]).toMatchObject({ method: "POST", url: "http://n/api/1/dtabs/ns/rollback?version=2", headers: expect.objectContaining({ "if-match": "4" }) });
    await client.rollback("ns", "2");
    expect(f.seen[1]?.headers["if-match"]).toBeUndefined();
  });
});

describe("NamerClient errors", () => {
  it("carries the namer's code, message and details", async () => {
    const f = fakeFetch(() => jsonResponse(412, { error: { code: "NAMER_ERR_VERSION_MISMATCH", message: "at 4, not 3", current: "4" } }));
    const client = new NamerClient({ baseUrl: "http://n", token: "hunter2", timeoutMs: 1000, fetch: f.fetch });
    const e = await client.update("ns", Dtab.empty, "3").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 412, code: "NAMER_ERR_VERSION_MISMATCH", serverMessage: "at 4, not 3", details: { current: "4" }, isConflict: true });
    expect((e as Error).message).toBe("at 4, not 3 [NAMER_ERR_VERSION_MISMATCH]");
    expect((e as Error).message).not.toContain("hunter2");
  });

  it("falls back to the status line for a body that is not the namer's, and find() maps only not-found to undefined", async () => {
    const f = fakeFetch((req) => (req.url.endsWith("/missing") ? jsonResponse(404, { error: { code: "NAMER_ERR_NOT_FOUND", message: "no" } }) : new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" })));
    const client = new NamerClient({ baseUrl: "http://n", timeoutMs: 1000, fetch: f.fetch });
    expect(await client.find("missing")).toBeUndefined();
    await expect(client.find("other")).rejects.toMatchObject({ status: 502, code: "HTTP_502", serverMessage: "502 Bad Gateway" });
  });

  it("rejects answers of the wrong shape", async () => {
    const f = fakeFetch(() => new Response("not json", { status: 200 }));
    const client = new NamerClient({ baseUrl: "http://n", timeoutMs: 1000, fetch: f.fetch });
    await expect(client.list()).rejects.toThrow("is not JSON");
    const g = fakeFetch(() => jsonResponse(200, { names: [] }));
    await expect(new NamerClient({ baseUrl: "http://n", timeoutMs: 1000, fetch: g.fetch }).list()).rejects.toThrow("unexpected answer from the namer");
    const h = fakeFetch(() => jsonResponse(200, []));
    await expect(new NamerClient({ baseUrl: "http://n", timeoutMs: 1000, fetch: h.fetch }).get("ns")).rejects.toThrow("has no ETag");
  });

  it("names the URL when the connection is refused", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    const f = async (): Promise<Response> => {
      throw new TypeError("fetch failed", { cause: refused });
    };
    const client = new NamerClient({ baseUrl: "http://127.0.0.1:9/x", token: "hunter2", timeoutMs: 1000, fetch: f as typeof fetch });
    const e = await client.list().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnreachableError);
    expect((e as Error).message).toBe("cannot reach the namer at http://127.0.0.1:9/x: connection refused (is the namer running? set --namer or NAMERCTL_BASE_URL)");
  });

  describe("against a server that accepts connections and never answers", () => {
    let server: Server;
    let url: string;
    const sockets = new Set<Socket>();

    beforeAll(async () => {
      server = createServer((s) => sockets.add(s)).listen(0, "127.0.0.1");
      await once(server, "listening");
      const address = server.address();
      url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
    });

    afterAll(async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, "close");
    });

    it("gives up after the timeout", async () => {
      const client = new NamerClient({ baseUrl: url, timeoutMs: 200, user: "x" });
      const started = Date.now();
      const e = await client.list().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UnreachableError);
      expect((e as Error).message).toBe(`cannot reach the namer at ${url}/: no answer within 200 ms (set --timeout to wait longer)`);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });
});

describe("parseBaseUrl and checkNamespace", () => {
  it("accept http(s) URLs with a path, and refuse other schemes, credentials and queries as usage errors", () => {
    expect(parseBaseUrl("http://namer:4180/prefix").pathname).toBe("/prefix");
    for (const bad of ["namer:4180", "ftp://namer", "http://u:p@namer", "http://namer/?a=b", "not a url"]) {
      expect(() => parseBaseUrl(bad), bad).toThrow(UsageError);
    }
    expect(() => parseBaseUrl("http://user:hunter2@namer")).toThrow(/must not hold credentials/);
    for (const leaky of ["ftp://user:hunter2@namer", "http//user:hunter2@namer", "user:hunter2@namer"]) {
      expect(() => parseBaseUrl(leaky)).toThrow(UsageError);
      expect(() => parseBaseUrl(leaky)).not.toThrow(/hunter2/);
    }
  });

  it("refuse namespace names the namer would refuse, before they become URL paths", () => {
    expect(checkNamespace("prod.us-east_1")).toBe("prod.us-east_1");
    for (const bad of ["..", "a/b", "", "-x", "x".repeat(129)]) expect(() => checkNamespace(bad), bad).toThrow(CtlError);
  });
});
