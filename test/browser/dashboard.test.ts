// The router dashboard in headless Chromium: a real router process with an
// fs namer and real backends; after traffic the page shows the service with
// its request count, a rate above zero and a 100% success rate, the client's
// load balancer with an ejected (dead) endpoint, the dtab chain, and the
// numbers keep moving as more traffic arrives.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Backend } from "../support/backend.ts";
import { get } from "../support/http.ts";
import { startNamerProcess, type NamerProcess } from "../support/namer.ts";
import { freePort } from "../support/redis.ts";
import { startRouterProcess, type RouterProcess } from "../support/router.ts";
import { launchBrowser, openPage, screenshot } from "./support/browser.ts";

/** The raw value behind a cell of a row (its data-value), as the page shows it now. */
async function cell(page: Page, row: string, field: string): Promise<string | null> {
  return page.locator(`${row} [data-field="${field}"]`).getAttribute("data-value", { timeout: 1_000 });
}

describe("router dashboard (browser)", () => {
  const disco = mkdtempSync(join(tmpdir(), "meshd-dash-"));
  let web: Backend;
  let router: RouterProcess;
  let url: string;
  let browser: Browser;
  let deadPort: number;

  beforeAll(async () => {
    web = await Backend.start("web");
    deadPort = await freePort();
    writeFileSync(join(disco, "web"), `${web.fsLine}\n`);
    // One live endpoint and one nobody listens on: failure accrual ejects the second.
    writeFileSync(join(disco, "pair"), `${web.fsLine}\n127.0.0.1 ${deadPort}\n`);
    [router, browser] = await Promise.all([
      startRouterProcess({
        namers: [{ kind: "io.l5d.fs", rootDir: disco }],
        routers: [
          {
            protocol: "http",
            label: "out",
            dtab: "/svc => /#/io.l5d.fs",
            client: { kind: "io.l5d.global", failureAccrual: { kind: "io.l5d.consecutiveFailures", failures: 1, backoff: { kind: "constant", ms: 60_000 } } },
            servers: [{}],
          },
        ],
      }),
      launchBrowser(),
    ]);
    url = router.servers[0]?.[0] as string;
  });

  afterAll(async () => {
    await browser?.close();
    await router?.stop();
    await web?.stop();
  });

  it("shows live request counts, rates, success rate, load balancer state and the dtab chain", async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${router.adminUrl}/`);
    // The first sample is taken before any traffic, so the rate has a baseline.
    await page.waitForSelector('section[data-router="out"] .summary [data-field="requests"]');

    for (let i = 0; i < 20; i++) expect((await get(url, "web")).status).toBe(200);
    const row = 'tr[data-service="/svc/web"]';
    await page.waitForSelector(`${row} [data-field="requests"][data-value="20"]`);
    await expect.poll(async () => Number(await cell(page, row, "rps")), { timeout: 5_000 }).toBeGreaterThan(0);
    expect(await cell(page, row, "success-rate")).toBe("1");
    expect(await page.textContent(`${row} [data-field="success-rate"]`)).toContain("100%");
    expect(Number(await cell(page, row, "p99"))).toBeGreaterThan(0);
    expect(await page.textContent('section[data-router="out"] [data-chain="out"]')).toContain("/svc=>/#/io.l5d.fs");

    // Traffic to the pair: the dead endpoint fails once, is ejected, and its address is listed.
    for (let i = 0; i < 10; i++) await get(url, "pair");
    const client = 'tr[data-client="/#/io.l5d.fs/pair"]';
    await page.waitForSelector(`${client} [data-field="ejected"][data-value="1"]`);
    expect(await cell(page, client, "lb-size")).toBe("2");
    expect(await cell(page, client, "lb-available")).toBe("1");
    expect(await page.textContent(`${client} [data-field="ejected"]`)).toContain(`127.0.0.1:${deadPort}`);
    expect(await cell(page, 'tr[data-client="/#/io.l5d.fs/web"]', "ejected")).toBe("0");
    await screenshot(page, "dashboard");

    // The numbers keep moving: five more requests show up without a reload.
    for (let i = 0; i < 5; i++) expect((await get(url, "web")).status).toBe(200);
    await page.waitForSelector(`${row} [data-field="requests"][data-value="25"]`);
    expect(problems).toEqual([]);
  });
});

describe("router dashboard with a namer interpreter (browser)", () => {
  let namer: NamerProcess;
  let router: RouterProcess;
  let browser: Browser;

  beforeAll(async () => {
    [namer, browser] = await Promise.all([startNamerProcess({ storage: { kind: "io.l5d.inMemory", namespaces: { web: "/svc => /$/inet/127.0.0.1/9" } } }), launchBrowser()]);
    const port = new URL(namer.url).port;
    router = await startRouterProcess({
      routers: [{ protocol: "http", label: "edge", dtab: "/svc/extra => /$/inet/127.0.0.1/10", interpreter: { kind: "io.l5d.namerd.http", dst: `/$/inet/127.0.0.1/${port}`, namespace: "web" }, servers: [{}] }],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await router?.stop();
    await namer?.stop();
  });

  it("shows the chain: the namer's namespace dtab with its version, then the router's own dtab", async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${router.adminUrl}/`);
    const chain = page.locator('[data-chain="edge"]');
    await chain.waitFor();
    expect(await chain.locator('pre[data-source="namer namespace web"]').textContent()).toBe("/svc=>/$/inet/127.0.0.1/9");
    expect(await chain.textContent()).toContain("namer namespace web · v1");
    expect(await chain.locator('pre[data-source="router dtab (config)"]').textContent()).toBe("/svc/extra=>/$/inet/127.0.0.1/10");
    await screenshot(page, "dashboard-namer-chain");
    expect(problems).toEqual([]);
  });
});
