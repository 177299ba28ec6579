// The API client's name and registry calls: the URLs it builds (paths and
// dtabs escaped, a base path kept), answers checked before they are drawn,
// and watch streams read line by line across chunk boundaries, keep-alives
// skipped, ended cleanly by the caller's signal and loudly by the namer.
import { describe, expect, it } from "vitest";
import { NamerClient } from "../../../namer/ctl/client.ts";
import { ApiError, CtlError, UnreachableError } from "../../../namer/ctl/errors.ts";
import { fakeFetch, jsonResponse } from "../../support/http.ts";

const LEAF = { type: "leaf", path: "/svc/a", bound: { addr: { type: "bound", addrs: [{ ip: "10.0.0.1", port: 80, meta: {} }], meta: {} }, id: "/#/fs/a", path: "/" } };

/** A streaming body fed by the test: push text chunks, end it, or break it; aborting the request errors it. */
function stream(signal: AbortSignal | undefined): { response: Response; push: (text: string) => void; end: () => void; fail: (e: Error) => void } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  signal?.addEventListener("abort", () => controller.error(new DOMException("aborted", "AbortError")));
  return {
    response: new Response(body, { status: 200, headers: { "content-type": "application/x-ndjson" } }),
    push: (text) => controller.enqueue(new TextEncoder().encode(text)),
    end: () => controller.close(),
    fail: (e) => controller.error(e),
  };
}

async function collect<T>(gen: AsyncGenerator<T>, onEach: (doc: T, n: number) => void = () => undefined): Promise<T[]> {
  const docs: T[] = [];
  for await (const d of gen) {
    docs.push(d);
    onEach(d, docs.length);
  }
  return docs;
}

describe("NamerClient name and registry requests", () => {
  it("escapes the path and local dtab into the query and keeps the base path", async () => {
    const f = fakeFetch(() => jsonResponse(200, LEAF));
    const client = new NamerClient({ baseUrl: "http://n:4180/mesh", timeoutMs: 1000, fetch: f.fetch });
    await client.bind("default", "/svc/a b#?", "/svc=>/#/fs;/x=>/y & /z");
    expect(f.seen[0]?.url).toBe("http://n:4180/mesh/api/1/bind/default?path=%2Fsvc%2Fa%20b%23%3F&dtab=%2Fsvc%3D%3E%2F%23%2Ffs%3B%2Fx%3D%3E%2Fy%20%26%20%2Fz");
    await client.delegate(undefined, "/svc/a", "/svc=>/#/fs");
    expect(f.seen[1]?.url).toBe("http://n:4180/mesh/api/1/delegate?path=%2Fsvc%2Fa&dtab=%2Fsvc%3D%3E%2F%23%2Ffs");
    await client.delegate("default", "/svc/a");
    expect(f.seen[2]?.url).toBe("http://n:4180/mesh/api/1/delegate/default?path=%2Fsvc%2Fa");
  });

  it("registers with the operator header and a JSON body, and deregisters by escaped id", async () => {
    const inst = { service: "web", id: "[::1]:80", host: "::1", port: 80, ttlSeconds: 30, meta: { zone: "a" }, registeredAt: "x", expiresAt: "y" };
    const f = fakeFetch((req) => (req.method === "DELETE" ? new Response(null, { status: 204 }) : jsonResponse(200, req.method === "GET" ? [inst] : inst)));
    const client = new NamerClient({ baseUrl: "http://n", token: "t", user: "alice", timeoutMs: 1000, fetch: f.fetch });
    expect(await client.register("web", { host: "::1", port: 80, meta: { zone: "a" } })).toEqual(inst);
    await client.deregister("web", "[::1]:80");
    expect(await client.instances("web")).toEqual([inst]);
    const [post, del, get] = f.seen;
    expect(post).toMatchObject({ method: "POST", url: "http://n/api/1/registry/web", body: '{"host":"::1","port":80,"meta":{"zone":"a"}}' });
    expect(post?.headers).toMatchObject({ "x-meshd-user": "alice", authorization: "Bearer t", "content-type": "application/json" });
    expect(del).toMatchObject({ method: "DELETE", url: "http://n/api/1/registry/web/%5B%3A%3A1%5D%3A80" });
    expect(get?.headers["x-meshd-user"]).toBeUndefined();
    await expect(client.instances("..")).rejects.toThrow(CtlError);
  });

  it("reads a resolve that timed out pending (null) as pending, and keeps members it does not know", async () => {
    const f = fakeFetch((req) => (req.url.includes("resolve") ? jsonResponse(200, null) : jsonResponse(200, { ...LEAF, extra: 1 })));
    const client = new NamerClient({ baseUrl: "http://n", timeoutMs: 1000, fetch: f.fetch });
    expect(await client.resolve("default", "/svc/a")).toEqual({ type: "pending" });
    expect(await client.bind("default", "/svc/a")).toEqual({ ...LEAF, extra: 1 });
  });

  it("refuses an answer of the wrong shape, saying where it goes wrong", async () => {
    const f = fakeFetch(() => jsonResponse(200, { type: "union", path: "/svc/a", union: [{ weight: "heavy", tree: LEAF }] }));
    const client = new NamerClient({ baseUrl: "http://n", timeoutMs: 1000, fetch: f.fetch });
    const e = (await client.bind("default", "/svc/a").catch((x: unknown) => x)) as CtlError;
    expect(e).toBeInstanceOf(CtlError);
    expect(e.message).toMatch(/^GET http:\/\/n\/api\/1\/bind\/default\?path=%2Fsvc%2Fa: unexpected answer from the namer: \$\.union\[0\]\.weight: /);
  });
});

describe("NamerClient watch streams", () => {
  it("yields one document a line across chunk boundaries, skipping keep-alives, and returns when the caller aborts", async () => {
    let s!: ReturnType<typeof stream>;
    const f = fakeFetch((req) => {
      s = stream(req.signal);
      return s.response;
    });
    const client = new NamerClient({ baseUrl: "http://n", timeoutMs: 1000, fetch: f.fetch });
    const stop = new AbortController();
    const gen = client.watchBind("default", "/svc/a", undefined, stop.signal);
    const docs = collect(gen, (_d, n) => {
      if (n === 2) stop.abort();
    });
    await new Promise((r) => setTimeout(r, 10));
    const line = JSON.stringify(LEAF);
    s.push("\n" + line.slice(0, 20));
    s.push(line.slice(20) + "\n\n\n");
    s.push(JSON.stringify({ type: "neg", path: "/svc/a" }) + "\n");
    expect(await docs).toEqual([LEAF, { type: "neg", path: "/svc/a" }]);
    expect(f.seen[0]?.url).toBe("http://n/api/1/bind/default?path=%2Fsvc%2Fa&watch=true");
    expect(f.seen[0]?.signal?.aborted).toBe(true);
  });

  it("throws when the namer ends the stream or the connection breaks", async () => {
    let s!: ReturnType<typeof stream>;
    const f = fakeFetch((req) => {
      s = stream(req.signal);
      return s.response;
    });
    const client = new NamerClient({ baseUrl: "http://n", timeoutMs: 1000, fetch: f.fetch });
    const ended = collect(client.watchInstances("web", new AbortController().signal));
    await new Promise((r) => setTimeout(r, 10));
    s.push("[]\n");
    s.end();
    await expect(ended).rejects.toThrow("the namer at http://n/ ended the watch (is it shutting down or restarting?)");

    const broken = collect(client.watchResolve("default", "/svc/a", undefined, new AbortController().signal));
    await new Promise((r) => setTimeout(r, 10));
    s.fail(new TypeError("terminated", { cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }) }));
    await expect(broken).rejects.toThrow("lost the watch on the namer at http://n/: the connection was reset");
  });

  it("throws for a line that is not JSON or not a document, and passes the namer's refusal on", async () => {
    let s!: ReturnType<typeof stream>;
    const f = fakeFetch((req) => {
      if (req.url.includes("bad")) return jsonResponse(400, { error: { code: "NAMER_ERR_INVALID_PATH", message: "Invalid path: nope", offset: 0 } });
      s = stream(req.signal);
      return s.response;
    });
    const client = new NamerClient({ baseUrl: "http://n", timeoutMs: 1000, fetch: f.fetch });
    const garbage = collect(client.watchBind("default", "/svc/a", undefined, new AbortController().signal));
    await new Promise((r) => setTimeout(r, 10));
    s.push("<html>\n");
    await expect(garbage).rejects.toThrow("the namer sent a watch line that is not JSON");
    const shape = collect(client.watchBind("default", "/svc/a", undefined, new AbortController().signal));
    await new Promise((r) => setTimeout(r, 10));
    s.push('{"type":"leaf"}\n');
    await expect(shape).rejects.toThrow("unexpected answer from the namer: $.path");
    const refused = await collect(client.watchBind("default", "bad", undefined, new AbortController().signal)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 400, code: "NAMER_ERR_INVALID_PATH", details: { offset: 0 } });
  });

  it("bounds only the wait for the headers with --timeout, and returns at once when already interrupted", async () => {
    const f = fakeFetch((req) => new Promise<Response>((_resolve, reject) => req.signal?.addEventListener("abort", () => reject(req.signal?.reason))) as unknown as Response);
    const client = new NamerClient({ baseUrl: "http://n", timeoutMs: 50, fetch: f.fetch });
    const e = await collect(client.watchBind("default", "/svc/a", undefined, new AbortController().signal)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnreachableError);
    expect((e as Error).message).toBe("cannot reach the namer at http://n/: no answer within 50 ms (set --timeout to wait longer)");

    let s!: ReturnType<typeof stream>;
    const slow = new NamerClient({
      baseUrl: "http://n",
      timeoutMs: 50,
      fetch: fakeFetch((req) => {
        s = stream(req.signal);
        return s.response;
      }).fetch,
    });
    const stop = new AbortController();
    const docs = collect(slow.watchBind("default", "/svc/a", undefined, stop.signal), () => stop.abort());
    // Well past the timeout the stream is still open: the first document arrives and is taken.
    await new Promise((r) => setTimeout(r, 200));
    s.push(JSON.stringify(LEAF) + "\n");
    expect(await docs).toEqual([LEAF]);

    const aborted = new AbortController();
    aborted.abort();
    expect(await collect(client.watchBind("default", "/svc/a", undefined, aborted.signal))).toEqual([]);
  });
});
