// The namer's dtab API over real sockets: namerd's status codes and bodies,
// compare-and-set with ETag/If-Match, write authorization, history, audit,
// rollback, watch streams, and 100 writers racing on one namespace.
import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../lib/log.ts";
import { namerConfigSchema, type HttpControllerConfig } from "../../../namer/config.ts";
import { buildNamerApi, type NamerApi } from "../../../namer/api/server.ts";
import { createNamerMetrics } from "../../../namer/metrics.ts";
import { MemoryDtabStore } from "../../../namer/store/memory.ts";
import type { DtabStore } from "../../../namer/store/types.ts";
import { raw, send } from "../../support/http.ts";
import { WatchStream } from "../../support/watch.ts";

/** The interface config meshd uses when a config file names none. */
export function defaultInterface(): HttpControllerConfig {
  return namerConfigSchema.parse({}).interfaces[0] as HttpControllerConfig;
}

interface Api {
  readonly url: string;
  readonly store: DtabStore;
  readonly api: NamerApi;
}

const running: Api[] = [];
afterEach(async () => {
  for (const a of running.splice(0)) {
    await a.api.close();
    await a.store.close();
  }
});

async function startApi(iface: Partial<HttpControllerConfig> = {}, store?: DtabStore): Promise<Api> {
  const s = store ?? (await MemoryDtabStore.open());
  const config: HttpControllerConfig = { ...defaultInterface(), port: 0, maxBodyBytes: 64 * 1024, ...iface };
  const api = await buildNamerApi({ store: s, config, metrics: createNamerMetrics(s), logger: silentLogger });
  await api.app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = api.app.server.address() as AddressInfo;
  const a = { url: `http://127.0.0.1:${port}`, store: s, api };
  running.push(a);
  return a;
}

const json = { "content-type": "application/json" };
const dtabText = { "content-type": "application/dtab" };

async function create(url: string, ns: string, dtab: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/api/1/dtabs/${ns}`, { method: "POST", headers: { ...dtabText, ...headers }, body: dtab });
}

/** POSTs a dtab with a chosen Host header (node:http; fetch does not let a caller set Host). */
async function postWithHost(url: string, path: string, host: string, headers: Record<string, string> = {}): Promise<number> {
  return (await send(`${url}${path}`, { method: "POST", headers: { host, "content-type": "application/dtab", ...headers }, body: "/a=>/b" })).status;
}

async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { error: { code: string } };
  return body.error.code;
}

describe("dtab CRUD (namerd shapes)", () => {
  it("lists namespaces sorted, as JSON, with and without the trailing slash", async () => {
    const { url } = await startApi();
    expect(await (await fetch(`${url}/api/1/dtabs`)).json()).toEqual([]);
    for (const ns of ["zeta", "alpha", "mid"]) expect((await create(url, ns, "/svc=>/#/io.l5d.fs")).status).toBe(204);
    const res = await fetch(`${url}/api/1/dtabs`);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.text()).toBe('["alpha","mid","zeta"]\n');
    expect(await (await fetch(`${url}/api/1/dtabs/`)).json()).toEqual(["alpha", "mid", "zeta"]);
  });

  it("creates from dtab text or JSON, answers 204 with the version as ETag, and 409 on an existing namespace", async () => {
    const { url } = await startApi();
    const first = await create(url, "default", "/svc => /#/io.l5d.fs ;\n/svc/web => 0.9*/a & 0.1*/b");
    expect(first.status).toBe(204);
    expect(first.headers.get("etag")).toBe("1");
    const fromJson = await fetch(`${url}/api/1/dtabs/other`, { method: "POST", headers: json, body: JSON.stringify([{ prefix: "/svc", dst: "/$/inet/127.0.0.1/80" }]) });
    expect(fromJson.status).toBe(204);
    const again = await create(url, "default", "/a=>/b");
    expect(again.status).toBe(409);
    expect(await errorCode(again)).toBe("NAMER_ERR_EXISTS");
  });

  it("serves a dtab as JSON by default and as text on Accept: application/dtab, with ETag; 404 when missing", async () => {
    const { url } = await startApi();
    await create(url, "default", "/svc => /#/io.l5d.fs; /svc/web => 0.9*/a & 0.1*/b");
    const asJson = await fetch(`${url}/api/1/dtabs/default`);
    expect(asJson.status).toBe(200);
    expect(asJson.headers.get("etag")).toBe("1");
    expect(await asJson.text()).toBe('[{"prefix":"/svc","dst":"/#/io.l5d.fs"},{"prefix":"/svc/web","dst":"0.90*/a & 0.10*/b"}]\n');
    const asText = await fetch(`${url}/api/1/dtabs/default`, { headers: { accept: "application/dtab" } });
    expect(asText.headers.get("content-type")).toMatch(/^application\/dtab/);
    expect(await asText.text()).toBe("/svc=>/#/io.l5d.fs;/svc/web=>0.90*/a & 0.10*/b\n");
    const head = await fetch(`${url}/api/1/dtabs/default`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe("1");
    const missing = await fetch(`${url}/api/1/dtabs/nope`);
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("NAMER_ERR_NOT_FOUND");
    expect((await fetch(`${url}/api/1/dtabs/nope`, { method: "HEAD" })).status).toBe(404);
  });

  it("updates only with the current version: 204, then 412 for a stale one, 404 for a missing namespace", async () => {
    const { url } = await startApi();
    await create(url, "default", "/a=>/b");
    const ok = await fetch(`${url}/api/1/dtabs/default`, { method: "PUT", headers: { ...dtabText, "if-match": "1" }, body: "/a=>/c" });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("etag")).toBe("2");
    const stale = await fetch(`${url}/api/1/dtabs/default`, { method: "PUT", headers: { ...dtabText, "if-match": "1" }, body: "/a=>/d" });
    expect(stale.status).toBe(412);
    expect(await errorCode(stale)).toBe("NAMER_ERR_VERSION_MISMATCH");
    expect(await (await fetch(`${url}/api/1/dtabs/default`, { headers: { accept: "application/dtab" } })).text()).toBe("/a=>/c\n");
    const quoted = await fetch(`${url}/api/1/dtabs/default`, { method: "PUT", headers: { ...dtabText, "if-match": '"2"' }, body: "/a=>/e" });
    expect(quoted.status).toBe(204);
    const missing = await fetch(`${url}/api/1/dtabs/nope`, { method: "PUT", headers: { ...dtabText, "if-match": "1" }, body: "/a=>/b" });
    expect(missing.status).toBe(404);
  });

  it("refuses PUT and DELETE without If-Match (428) unless unconditional writes are allowed", async () => {
    const strict = await startApi();
    await create(strict.url, "default", "/a=>/b");
    const put = await fetch(`${strict.url}/api/1/dtabs/default`, { method: "PUT", headers: dtabText, body: "/a=>/c" });
    expect(put.status).toBe(428);
    expect(await errorCode(put)).toBe("NAMER_ERR_PRECONDITION_REQUIRED");
    expect((await fetch(`${strict.url}/api/1/dtabs/default`, { method: "DELETE" })).status).toBe(428);

    const lax = await startApi({ allowUnconditionalWrites: true });
    const upsert = await fetch(`${lax.url}/api/1/dtabs/fresh`, { method: "PUT", headers: dtabText, body: "/a=>/b" });
    expect(upsert.status).toBe(204);
    expect((await fetch(`${lax.url}/api/1/dtabs/fresh`, { method: "DELETE" })).status).toBe(204);
  });

  it("deletes with the current version; 412 on a stale one; 404 afterwards", async () => {
    const { url } = await startApi();
    await create(url, "default", "/a=>/b");
    expect((await fetch(`${url}/api/1/dtabs/default`, { method: "DELETE", headers: { "if-match": "7" } })).status).toBe(412);
    const del = await fetch(`${url}/api/1/dtabs/default`, { method: "DELETE", headers: { "if-match": "1" } });
    expect(del.status).toBe(204);
    expect((await fetch(`${url}/api/1/dtabs/default`)).status).toBe(404);
    expect((await fetch(`${url}/api/1/dtabs/default`, { method: "DELETE", headers: { "if-match": "*" } })).status).toBe(404);
  });

  it("answers a dtab that does not parse with 400, the offset, line and column", async () => {
    const { url } = await startApi();
    const res = await create(url, "default", "/svc => /a;\n/b => /c |;\n");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string; offset: number } };
    expect(body.error.code).toBe("NAMER_ERR_INVALID_DTAB");
    expect(body.error.offset).toBe(22);
    expect(body.error.message).toContain("line 2, column 11");
    const badJson = await fetch(`${url}/api/1/dtabs/x`, { method: "POST", headers: json, body: JSON.stringify([{ prefix: "/a", dst: null }]) });
    expect(badJson.status).toBe(400);
    expect((await badJson.json()) as unknown).toMatchObject({ error: { code: "NAMER_ERR_INVALID_DTAB", message: expect.stringContaining('[0] needs "dst"') } });
    const notJson = await fetch(`${url}/api/1/dtabs/x`, { method: "POST", headers: json, body: "{oops" });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${url}/api/1/dtabs/default`)).status).toBe(404);
  });

  it("rejects other media types (415), oversized bodies (413), bad namespace names and unknown routes", async () => {
    const { url } = await startApi({ maxBodyBytes: 1024 });
    const xml = await fetch(`${url}/api/1/dtabs/x`, { method: "POST", headers: { "content-type": "application/xml" }, body: "<a/>" });
    expect(xml.status).toBe(415);
    expect(await errorCode(xml)).toBe("NAMER_ERR_UNSUPPORTED_MEDIA_TYPE");
    const big = await create(url, "x", `/a=>/${"b".repeat(2000)}`);
    expect(big.status).toBe(413);
    const badName = await create(url, "bad%20name", "/a=>/b");
    expect(badName.status).toBe(400);
    expect(await errorCode(badName)).toBe("NAMER_ERR_INVALID_NAMESPACE");
    const nowhere = await fetch(`${url}/api/2/whatever`);
    expect(nowhere.status).toBe(404);
    expect(await errorCode(nowhere)).toBe("NAMER_ERR_NO_ROUTE");
  });

  it("answers CONNECT (no tunnels here) with 400 and closes that connection, and goes on serving", async () => {
    const { url } = await startApi();
    const out = await raw(Number(new URL(url).port), "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", /\}$/);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(out).toMatch(/\r\nconnection: close\r\n/i);
    expect(out).toContain('"code":"NAMER_ERR_INVALID_REQUEST"');
    expect(out).toContain("the request target is not a valid path");
    const badTarget = await fetch(`${url}/api/1/dtabs/%zz`);
    expect(badTarget.status).toBe(400);
    expect(await errorCode(badTarget)).toBe("NAMER_ERR_INVALID_REQUEST");
    expect((await fetch(`${url}/api/1/dtabs`)).status).toBe(200);
  });

  it("accepts the {version, dtab} object that namerctl get --json writes", async () => {
    const { url } = await startApi();
    const res = await fetch(`${url}/api/1/dtabs/default`, { method: "POST", headers: json, body: JSON.stringify({ version: "9", dtab: [{ prefix: "/a", dst: "/b" }] }) });
    expect(res.status).toBe(204);
    expect(await (await fetch(`${url}/api/1/dtabs/default`)).json()).toEqual([{ prefix: "/a", dst: "/b" }]);
  });
});

describe("write authorization", () => {
  it("without tokens, accepts writes from loopback only", async () => {
    const { url } = await startApi();
    expect((await create(url, "a", "/a=>/b")).status).toBe(204);
  });

  it("with tokens, requires a valid bearer token and records its name as the actor", async () => {
    const { url } = await startApi({ writeTokens: ["s3cret", { name: "ci", token: "ci-token" }] });
    const none = await create(url, "default", "/a=>/b");
    expect(none.status).toBe(401);
    expect(await errorCode(none)).toBe("NAMER_ERR_UNAUTHORIZED");
    expect((await create(url, "default", "/a=>/b", { authorization: "Bearer wrong" })).status).toBe(401);
    expect((await create(url, "default", "/a=>/b", { authorization: "Bearer ci-token", "x-meshd-user": "alice" })).status).toBe(204);
    const put = await fetch(`${url}/api/1/dtabs/default`, { method: "PUT", headers: { ...dtabText, "if-match": "1", authorization: "Bearer s3cret" }, body: "/a=>/c" });
    expect(put.status).toBe(204);
    const history = (await (await fetch(`${url}/api/1/dtabs/default/history`)).json()) as { actor: string; source: string }[];
    expect(history.map((h) => h.actor)).toEqual(["token-1", "ci:alice"]);
    expect(history[0]?.source).toBe("127.0.0.1");
    // Reads stay open.
    expect((await fetch(`${url}/api/1/dtabs/default`)).status).toBe(200);
  });

  it("refuses writes a browser on this host could be tricked into (another site's page, DNS rebinding), but not reads", async () => {
    const { url, store } = await startApi();
    // A form on another site POSTing text/plain to the loopback namer.
    const form = await create(url, "evil", "/a=>/b", { "content-type": "text/plain", origin: "https://attacker.example", "sec-fetch-site": "cross-site" });
    expect(form.status).toBe(403);
    expect(await errorCode(form)).toBe("NAMER_ERR_CROSS_SITE");
    const origin = await create(url, "evil", "/a=>/b", { origin: "http://attacker.example" });
    expect(origin.status).toBe(403);
    // A DNS name that resolves to 127.0.0.1 (rebinding) instead of the address itself (fetch will not set Host).
    expect(await postWithHost(url, "/api/1/dtabs/evil", "attacker.example:4180")).toBe(403);
    // A made-up bearer does not pass for a token where the interface has none to check it against.
    expect(await postWithHost(url, "/api/1/dtabs/evil", "attacker.example:4180", { authorization: "Bearer made-up" })).toBe(403);
    expect(await store.list()).not.toContain("evil");
    // Same-origin pages, localhost and plain clients (namerctl, routers) still write; anyone may read.
    expect((await create(url, "ok", "/a=>/b", { origin: url, "sec-fetch-site": "same-origin" })).status).toBe(204);
    expect(await postWithHost(url, "/api/1/dtabs/ok2", "localhost")).toBe(204);
    expect((await fetch(`${url}/api/1/dtabs/ok`, { headers: { origin: "https://elsewhere.example" } })).status).toBe(200);
  });

  it("reads tokens from files, trimmed, and refuses to start on an unreadable or empty one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meshd-token-"));
    writeFileSync(join(dir, "ops"), "from-a-file\n");
    writeFileSync(join(dir, "empty"), "\n");
    const { url } = await startApi({ writeTokens: [{ name: "ops", file: join(dir, "ops") }] });
    expect((await create(url, "a", "/a=>/b", { authorization: "Bearer from-a-file" })).status).toBe(204);
    // With write tokens, a bearer passes the cross-site guard by a DNS name, and is then checked.
    expect(await postWithHost(url, "/api/1/dtabs/b", "namer.internal:4180", { authorization: "Bearer from-a-file" })).toBe(204);
    expect(await postWithHost(url, "/api/1/dtabs/c", "namer.internal:4180", { authorization: "Bearer made-up" })).toBe(401);
    expect((await (await fetch(`${url}/api/1/dtabs/a/history`)).json()) as unknown).toMatchObject([{ actor: "ops" }]);
    await expect(startApi({ writeTokens: [{ name: "gone", file: join(dir, "missing") }] })).rejects.toThrow(/write token "gone": cannot read .*missing: ENOENT/);
    await expect(startApi({ writeTokens: [{ name: "blank", file: join(dir, "empty") }] })).rejects.toThrow(/write token "blank": .* is empty/);
  });
});

describe("history, audit and rollback", () => {
  it("keeps versions newest first and restores an old one as a new, audited version", async () => {
    const { url } = await startApi();
    await create(url, "default", "/svc=>/v1");
    for (const [v, dst] of [["1", "/v2"], ["2", "/v3"]] as const) {
      await fetch(`${url}/api/1/dtabs/default`, { method: "PUT", headers: { ...dtabText, "if-match": v }, body: `/svc=>${dst}` });
    }
    const history = (await (await fetch(`${url}/api/1/dtabs/default/history`)).json()) as { version: string; action: string; dtab: string }[];
    expect(history.map((h) => [h.version, h.action, h.dtab])).toEqual([
      ["3", "update", "/svc=>/v3"],
      ["2", "update", "/svc=>/v2"],
      ["1", "create", "/svc=>/v1"],
    ]);
    expect(((await (await fetch(`${url}/api/1/dtabs/default/history?limit=1`)).json()) as unknown[]).length).toBe(1);

    const stale = await fetch(`${url}/api/1/dtabs/default/rollback?version=1`, { method: "POST", headers: { "if-match": "2" } });
    expect(stale.status).toBe(412);
    const rolled = await fetch(`${url}/api/1/dtabs/default/rollback?version=1`, { method: "POST", headers: { "if-match": "3" } });
    expect(rolled.status).toBe(200);
    expect(await rolled.json()).toEqual({ namespace: "default", version: "4", restoredVersion: "1" });
    expect(await (await fetch(`${url}/api/1/dtabs/default`, { headers: { accept: "application/dtab" } })).text()).toBe("/svc=>/v1\n");
    const unconditional = await fetch(`${url}/api/1/dtabs/default/rollback?version=2`, { method: "POST" });
    expect(unconditional.status).toBe(428);
    const unknown = await fetch(`${url}/api/1/dtabs/default/rollback`, { method: "POST", headers: { ...json, "if-match": "4" }, body: JSON.stringify({ version: "99" }) });
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe("NAMER_ERR_VERSION_UNKNOWN");

    const audit = (await (await fetch(`${url}/api/1/dtabs/default/audit`)).json()) as { action: string; oldVersion?: string; newVersion: string }[];
    expect(audit[0]).toMatchObject({ action: "rollback", oldVersion: "3", newVersion: "4" });
    expect(audit).toHaveLength(4);
    expect((await fetch(`${url}/api/1/dtabs/never/history`)).status).toBe(404);
  });
});

describe("watch streams", () => {
  it("stream every change of a namespace in order, starting with the current state", async () => {
    const { url } = await startApi();
    await create(url, "default", "/svc=>/v0");
    const watch = await WatchStream.open(`${url}/api/1/dtabs/default?watch=true`);
    expect(watch.status).toBe(200);
    await watch.waitForCount(1);
    for (let i = 1; i <= 20; i++) {
      const res = await fetch(`${url}/api/1/dtabs/default`, { method: "PUT", headers: { ...dtabText, "if-match": String(i) }, body: `/svc=>/v${i}` });
      expect(res.status).toBe(204);
    }
    const lines = await watch.waitForCount(21);
    expect(lines.map((l) => (JSON.parse(l) as { dst: string }[])[0]?.dst)).toEqual(Array.from({ length: 21 }, (_, i) => `/v${i}`));
    watch.close();
  });

  it("carry versions with ?versioned=true, and show deletion and re-creation", async () => {
    const { url } = await startApi();
    const watch = await WatchStream.open(`${url}/api/1/dtabs/later?watch=1&versioned=true`);
    await watch.waitForCount(1);
    await create(url, "later", "/a=>/b");
    await fetch(`${url}/api/1/dtabs/later`, { method: "DELETE", headers: { "if-match": "1" } });
    await create(url, "later", "/a=>/c");
    const lines = (await watch.waitForCount(4)).map((l) => JSON.parse(l) as { version: string | null; dtab: unknown });
    expect(lines).toEqual([
      { namespace: "later", version: null, dtab: null },
      { namespace: "later", version: "1", dtab: [{ prefix: "/a", dst: "/b" }] },
      { namespace: "later", version: null, dtab: null },
      { namespace: "later", version: "3", dtab: [{ prefix: "/a", dst: "/c" }] },
    ]);
    watch.close();
  });

  it("stream dtab text when asked, and the namespace list on every change", async () => {
    const { url } = await startApi();
    await create(url, "b", "/x=>/y");
    const text = await WatchStream.open(`${url}/api/1/dtabs/b?watch=true`, { accept: "application/dtab" });
    const list = await WatchStream.open(`${url}/api/1/dtabs?watch=true`);
    await list.waitForCount(1);
    await create(url, "a", "/x=>/y");
    await fetch(`${url}/api/1/dtabs/b`, { method: "PUT", headers: { ...dtabText, "if-match": "1" }, body: "/x=>/z" });
    expect(await list.waitForCount(2)).toEqual(['["b"]', '["a","b"]']);
    expect(await text.waitForCount(2)).toEqual(["/x=>/y", "/x=>/z"]);
    list.close();
    text.close();
  });

  it("send keep-alive lines on idle streams and end every stream when the server closes", async () => {
    const { url, api } = await startApi({ watchKeepAliveMs: 50 });
    await create(url, "default", "/a=>/b");
    const watch = await WatchStream.open(`${url}/api/1/dtabs/default?watch=true`, {}, { keepEmpty: true });
    await watch.waitForCount(3, 5_000);
    expect(watch.lines.slice(1, 3)).toEqual(["", ""]);
    expect(api.streams.size).toBe(1);
    await api.close();
    await watch.waitEnded();
    expect(api.streams.size).toBe(0);
  });

  it("forget streams whose client went away", async () => {
    const { url, api } = await startApi();
    await create(url, "default", "/a=>/b");
    const watches = await Promise.all(Array.from({ length: 5 }, () => WatchStream.open(`${url}/api/1/dtabs/default?watch=true`)));
    await Promise.all(watches.map((w) => w.waitForCount(1)));
    expect(api.streams.size).toBe(5);
    for (const w of watches) w.close();
    const deadline = Date.now() + 5_000;
    while (api.streams.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(api.streams.size).toBe(0);
  });
});

describe("concurrent writers", () => {
  it("100 writers racing on one namespace lose no update", async () => {
    const { url } = await startApi();
    await create(url, "race", "/base=>/base");
    const writer = async (i: number): Promise<number> => {
      for (let attempt = 1; ; attempt++) {
        const got = await fetch(`${url}/api/1/dtabs/race`, { headers: { accept: "application/dtab" } });
        const version = got.headers.get("etag") as string;
        const current = (await got.text()).trim();
        const res = await fetch(`${url}/api/1/dtabs/race`, { method: "PUT", headers: { ...dtabText, "if-match": version }, body: `${current};/w${i}=>/w${i}` });
        if (res.status === 204) return attempt;
        expect(res.status).toBe(412);
      }
    };
    const attempts = await Promise.all(Array.from({ length: 100 }, (_, i) => writer(i)));
    const final = await fetch(`${url}/api/1/dtabs/race`);
    expect(final.headers.get("etag")).toBe("101");
    const prefixes = ((await final.json()) as { prefix: string }[]).map((d) => d.prefix);
    expect(prefixes).toHaveLength(101);
    for (let i = 0; i < 100; i++) expect(prefixes).toContain(`/w${i}`);
    // They really raced: some writers had to retry.
    expect(Math.max(...attempts)).toBeGreaterThan(1);
  });
});
