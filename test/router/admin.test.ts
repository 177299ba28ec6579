// The router's admin port: metrics that move by exactly the traffic sent
// (successes, failures, retries) in Prometheus text that parses and in
// Linkerd's metrics.json, client state, the delegator, config.json, the
// log level at run time, and a shutdown only loopback may ask for.
import { mkdtempSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Backend } from "../support/backend.ts";
import { get, raw, send } from "../support/http.ts";
import { eventually } from "../support/process.ts";
import { parsePrometheus, scrape } from "../support/prometheus.ts";
import { startRouterProcess, type RouterProcess } from "../support/router.ts";

const ADMIN_TOKEN = "admin-test-token-5c1d";

describe("router admin", () => {
  const disco = mkdtempSync(join(tmpdir(), "meshd-admin-"));
  let good: Backend;
  let flaky: Backend;
  let router: RouterProcess;
  let url: string;
  let admin: string;

  beforeAll(async () => {
    [good, flaky] = await Promise.all([Backend.start("good"), Backend.start("flaky")]);
    writeFileSync(join(disco, "good"), `${good.fsLine}\n`);
    writeFileSync(join(disco, "flaky"), `${flaky.fsLine}\n`);
    flaky.mode = { kind: "status", status: 503 };
    router = await startRouterProcess({
      adminToken: ADMIN_TOKEN,
      namers: [{ kind: "io.l5d.fs", rootDir: disco }],
      routers: [
        {
          protocol: "http",
          label: "out",
          dtab: "/svc => /#/io.l5d.fs",
          service: { kind: "io.l5d.static", configs: [{ prefix: "/svc/flaky", responseClassifier: { kind: "io.l5d.http.retryableRead5XX" }, retries: { budget: { minRetriesPerSec: 1, percentCanRetry: 0, ttlSecs: 10 } } }] },
          client: { kind: "io.l5d.global", failureAccrual: { kind: "none" } },
          servers: [{}],
        },
      ],
    });
    url = router.servers[0]?.[0] as string;
    admin = router.adminUrl;
  });

  afterAll(async () => {
    await router?.stop();
    await Promise.all([good, flaky].map((b) => b?.stop()));
  });

  it("counts exactly the requests, successes, failures and retries sent, in Prometheus text that parses", async () => {
    for (let i = 0; i < 7; i++) expect((await get(url, "good")).status).toBe(200);
    // Each flaky request is retried while the budget (10 retries per 10 s, nothing earned) lasts.
    for (let i = 0; i < 3; i++) expect((await get(url, "flaky")).status).toBe(503);
    expect((await get(url, "nowhere")).status).toBe(502);
    const text = await (await fetch(`${admin}/metrics`)).text();
    const samples = parsePrometheus(text);
    const server = new URL(url).host;
    expect(samples.get(`rt_requests_total{rt="out",service="/svc/good",server="${server}",status_class="2XX"}`)).toBe(7);
    expect(samples.get(`rt_service_success_total{rt="out",service="/svc/good"}`)).toBe(7);
    expect(samples.get(`rt_requests_total{rt="out",service="/svc/flaky",server="${server}",status_class="5XX"}`)).toBe(3);
    expect(samples.get(`rt_service_failures_total{rt="out",service="/svc/flaky"}`)).toBe(3);
    const retries = samples.get(`rt_service_retries_total{rt="out",service="/svc/flaky"}`) as number;
    // Upstream attempts are the requests plus their retries, exactly.
    expect(flaky.seen.length).toBe(3 + retries);
    expect(retries).toBeGreaterThan(0);
    expect(samples.get(`rt_requests_total{rt="out",service="/svc/nowhere",server="${server}",status_class="5XX"}`)).toBe(1);
    expect(samples.get(`rt_request_duration_seconds_count{rt="out",service="/svc/good"}`)).toBe(7);
    // Buckets are cumulative and end at +Inf with the count; the sum is the seconds observed.
    expect(samples.get(`rt_request_duration_seconds_bucket{rt="out",service="/svc/good",le="+Inf"}`)).toBe(7);
    expect(samples.get(`rt_request_duration_seconds_bucket{rt="out",service="/svc/good",le="0.0005"}`)).toBeLessThanOrEqual(samples.get(`rt_request_duration_seconds_bucket{rt="out",service="/svc/good",le="10"}`) as number);
    expect(samples.get(`rt_request_duration_seconds_sum{rt="out",service="/svc/good"}`)).toBeGreaterThan(0);
    expect(samples.get(`rt_request_duration_seconds_sum{rt="out",service="/svc/good"}`)).toBeLessThan(7);
    expect(samples.get(`rt_client_loadbalancer_size{rt="out",client="/#/io.l5d.fs/good"}`)).toBe(1);
    expect(samples.get(`rt_client_requests_total{rt="out",client="/#/io.l5d.fs/flaky",result="failure"}`)).toBe(3 + retries);
    expect(text).toContain("process_resident_memory_bytes");
  });

  it("counts a request whose client left before the answer as a 499 failure, and lets go of its attempt", async () => {
    const stalled = await Backend.start("gone");
    stalled.mode = { kind: "stall" };
    writeFileSync(join(disco, "gone"), `${stalled.fsLine}\n`);
    try {
      const u = new URL(url);
      await new Promise<void>((resolve) => {
        const req = httpRequest({ host: u.hostname, port: u.port, path: "/", headers: { host: "gone" }, agent: false });
        req.on("error", () => resolve());
        req.end();
        // The backend never answers; the client gives up once the request has reached it.
        const waitForBackend = setInterval(() => {
          if (stalled.seen.length === 0) return;
          clearInterval(waitForBackend);
          req.destroy();
        }, 20);
      });
      const server = u.host;
      const counted = await eventually(async () => {
        const samples = await scrape(admin);
        return samples.get(`rt_requests_total{rt="out",service="/svc/gone",server="${server}",status_class="4XX"}`) === 1 ? samples : undefined;
      }, 5_000, "the abandoned request to be counted");
      expect(counted.get(`rt_service_failures_total{rt="out",service="/svc/gone"}`)).toBe(1);
      expect(counted.get(`rt_request_duration_seconds_count{rt="out",service="/svc/gone"}`)).toBe(1);
      expect(counted.get(`rt_client_pending{rt="out",client="/#/io.l5d.fs/gone"}`)).toBe(0);
    } finally {
      await stalled.stop();
    }
  });

  it("serves Linkerd's flat metrics.json names, filtered with ?q=", async () => {
    const all = (await (await fetch(`${admin}/admin/metrics.json`)).json()) as Record<string, number>;
    expect(all["rt/out/service//svc/good/requests"]).toBe(7);
    expect(all["rt/out/service//svc/good/success"]).toBe(7);
    expect(all["rt/out/service//svc/flaky/failures"]).toBe(3);
    expect(all["rt/out/service//svc/flaky/retries/total"]).toBeGreaterThan(0);
    expect(all["rt/out/service//svc/good/latency_ms.p99"]).toBeGreaterThan(0);
    expect(all["rt/out/client//#/io.l5d.fs/good/loadbalancer/size"]).toBe(1);
    const filtered = (await (await fetch(`${admin}/admin/metrics.json?q=flaky`)).json()) as Record<string, number>;
    expect(Object.keys(filtered).length).toBeGreaterThan(0);
    expect(Object.keys(filtered).every((k) => k.includes("flaky"))).toBe(true);
  });

  it("shows client state, explains paths, and serves the config", async () => {
    const clients = (await (await fetch(`${admin}/client_state.json`)).json()) as Record<string, { endpoints: { address: string; accrual: string }[] }>;
    const goodState = Object.values(clients).find((c) => c.endpoints.some((e) => e.address.endsWith(`:${good.port}`)));
    expect(goodState?.endpoints[0]).toMatchObject({ accrual: "alive" });
    const explained = await (await fetch(`${admin}/delegator.json?path=/svc/good&dtab=${encodeURIComponent("/svc/good=>/#/io.l5d.fs/flaky")}`)).json();
    expect(explained).toMatchObject({ type: "alt", path: "/svc/good" });
    expect(JSON.stringify(explained)).toContain("/#/io.l5d.fs/flaky");
    expect((await fetch(`${admin}/delegator.json?path=svc`)).status).toBe(400);
    const configText = await (await fetch(`${admin}/config.json`)).text();
    const config = JSON.parse(configText) as { routers: { label: string }[]; admin: { token: string } };
    expect(config.routers[0]?.label).toBe("out");
    // The admin token is a secret: shown hidden, never as itself.
    expect(configText).not.toContain(ADMIN_TOKEN);
    expect(config.admin.token).not.toBe(ADMIN_TOKEN);
  });

  it("changes the log level at run time", async () => {
    expect(await (await fetch(`${admin}/logging`)).json()).toMatchObject({ level: "info" });
    expect((await fetch(`${admin}/logging?level=debug`, { method: "PUT" })).status).toBe(200);
    expect(await (await fetch(`${admin}/logging`)).json()).toMatchObject({ level: "debug" });
    expect((await fetch(`${admin}/logging?level=loud`, { method: "PUT" })).status).toBe(400);
    await fetch(`${admin}/logging?level=info`, { method: "PUT" });
  });

  it("takes control requests by a DNS name only with admin.token (what a client on another host must show)", async () => {
    // A request naming the admin by a DNS name is what DNS rebinding and other hosts look like.
    const asHost = (headers: Record<string, string>) => send(`${admin}/logging?level=warn`, { method: "PUT", headers: { host: "meshd-admin.internal", ...headers } });
    expect((await asHost({})).status).toBe(403);
    expect((await asHost({ authorization: "Bearer not-the-token" })).status).toBe(403);
    expect((await asHost({ authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
    expect(await (await fetch(`${admin}/logging`)).json()).toMatchObject({ level: "warn" });
    await fetch(`${admin}/logging?level=info`, { method: "PUT" });
  });

  it("answers CONNECT (no tunnels here) with 400 and closes that connection, and goes on serving", async () => {
    const out = await raw(Number(new URL(admin).port), "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", /\}$/);
    expect(out).toMatch(/^HTTP\/1\.1 400 /);
    expect(out).toMatch(/\r\nconnection: close\r\n/i);
    expect((await fetch(`${admin}/admin/ping`)).status).toBe(200);
  });

  it("shuts down gracefully on POST /admin/shutdown from loopback", async () => {
    const res = await fetch(`${admin}/admin/shutdown`, { method: "POST" });
    expect(res.status).toBe(202);
    await router.process.waitFor('"msg":"router stopped"');
    expect(await router.process.waitForExit()).toBe(0);
  });
});
