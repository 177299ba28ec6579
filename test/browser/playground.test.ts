// The dtab playground in headless Chromium against a real router process
// (fs namer, real backends): a path is explained step by step with the
// dentry that rewrote it and the live address at the leaf; an override dtab
// wins over the router's; a dtab or path that does not parse is shown as an
// error pointing at the offset the parser reports.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dtab, DtabError } from "../../dtab/index.ts";
import { Backend } from "../support/backend.ts";
import { startRouterProcess, type RouterProcess } from "../support/router.ts";
import { launchBrowser, openPage, screenshot } from "./support/browser.ts";

/** The offset the dtab parser reports for `text` (the page must point at the same place). */
function parseOffset(text: string): number {
  try {
    Dtab.read(text);
  } catch (e) {
    if (e instanceof DtabError && e.offset !== undefined) return e.offset;
  }
  throw new Error(`expected ${JSON.stringify(text)} not to parse`);
}

/** Console lines for the 400s this test asks for on purpose are expected; anything else is not. */
const unexpected = (problems: readonly string[]) => problems.filter((p) => !/status of 400/.test(p));

describe("dtab playground (browser)", () => {
  const disco = mkdtempSync(join(tmpdir(), "meshd-play-"));
  let users: Backend;
  let canary: Backend;
  let router: RouterProcess;
  let browser: Browser;

  beforeAll(async () => {
    [users, canary] = await Promise.all([Backend.start("users"), Backend.start("canary")]);
    writeFileSync(join(disco, "users"), `${users.fsLine}\n`);
    writeFileSync(join(disco, "users-canary"), `${canary.fsLine}\n`);
    [router, browser] = await Promise.all([
      startRouterProcess({
        namers: [{ kind: "io.l5d.fs", rootDir: disco }],
        routers: [
          { protocol: "http", label: "out", dtab: "/svc => /#/io.l5d.fs", servers: [{}] },
          { protocol: "http", label: "in", dtab: "/svc => /$/inet/127.0.0.1/1", servers: [{}] },
        ],
      }),
      launchBrowser(),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await router?.stop();
    await Promise.all([users, canary].map((b) => b?.stop()));
  });

  it("explains a path: the dentry at each step, the live address at the leaf, an override that wins", async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${router.adminUrl}/dtab`);
    await page.waitForSelector('form[data-ready="true"]');
    expect((await page.locator("#router option").allTextContents()).sort()).toEqual(["in", "out"]);
    await page.selectOption("#router", "out");
    await page.fill("#path", "/svc/users");
    await page.click('button[type="submit"]');

    const leaf = page.locator('li[data-type="leaf"]');
    await leaf.first().waitFor();
    expect(await page.locator('[data-dentry="/svc=>/#/io.l5d.fs"]').count()).toBeGreaterThan(0);
    expect(await leaf.count()).toBe(1);
    expect(await leaf.getAttribute("data-path")).toBe("/#/io.l5d.fs/users");
    expect(await leaf.locator(`[data-addr="127.0.0.1:${users.port}"]`).count()).toBe(1);
    // The chain the path went through is shown too.
    expect(await page.textContent("#chain")).toContain("/svc=>/#/io.l5d.fs");
    // The URL keeps the question, so it can be shared.
    expect(new URL(page.url()).searchParams.get("path")).toBe("/svc/users");
    await screenshot(page, "playground-tree");

    // An override dtab comes after the router's, so its dentry wins.
    await page.fill("#dtab", "/svc/users => /#/io.l5d.fs/users-canary");
    await page.click('button[type="submit"]');
    await page.locator(`[data-addr="127.0.0.1:${canary.port}"]`).waitFor();
    expect(await page.locator('[data-dentry="/svc/users=>/#/io.l5d.fs/users-canary"]').count()).toBeGreaterThan(0);
    await screenshot(page, "playground-override");

    // Another router, another dtab: the same path ends at its own address.
    await page.fill("#dtab", "");
    await page.selectOption("#router", "in");
    await page.click('button[type="submit"]');
    await page.locator('[data-addr="127.0.0.1:1"]').waitFor();
    expect(await page.locator('[data-dentry="/svc=>/$/inet/127.0.0.1/1"]').count()).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it("shows a dtab that does not parse as an error at the parser's offset, and a bad path too", async () => {
    const { page, problems } = await openPage(browser);
    const bad = "/svc/users => /#/io.l5d.fs/users;\n/svc/x =>";
    const offset = parseOffset(bad);
    await page.goto(`${router.adminUrl}/dtab?router=out`);
    await page.waitForSelector('form[data-ready="true"]');
    await page.fill("#path", "/svc/users");
    await page.fill("#dtab", bad);
    await page.click('button[type="submit"]');

    const error = page.locator('[data-error="dtab"]');
    await error.waitFor();
    expect(await error.textContent()).toContain(`offset ${offset}`);
    expect(await error.locator(".caret").getAttribute("data-offset")).toBe(String(offset));
    expect(await error.locator(".caret").textContent()).toContain("line 2");
    expect(await page.getAttribute("#dtab", "aria-invalid")).toBe("true");
    expect(await page.locator('li[data-type="leaf"]').count()).toBe(0);
    await screenshot(page, "playground-bad-dtab");

    await page.fill("#dtab", "");
    await page.fill("#path", "svc/users");
    await page.click('button[type="submit"]');
    await page.locator('[data-error="path"]').waitFor();
    expect(await page.locator('[data-error="dtab"]').count()).toBe(0);
    expect(await page.locator('[data-error="path"] .caret').getAttribute("data-offset")).toBe("0");
    expect(unexpected(problems)).toEqual([]);
  });
});
