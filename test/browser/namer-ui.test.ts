// The namer's admin pages in headless Chromium against real namer processes:
// the dtab editor saves with the version it loaded (the version goes up and
// the API serves the new dtab), shows a conflict — the other writer's dtab
// and a diff — when the dtab changed behind its back and never overwrites
// it; writes from the page need what the API needs (a token when the API has
// tokens); and the admin's base endpoints, including the guard that refuses
// cross-site writes.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dtab } from "../../dtab/index.ts";
import { send } from "../support/http.ts";
import { startNamerProcess, type NamerProcess } from "../support/namer.ts";
import { launchBrowser, openPage, screenshot } from "./support/browser.ts";

const TOKEN = "ui-test-token-0123456789";

async function apiGet(namer: NamerProcess, ns: string): Promise<{ version: string; dtab: string }> {
  const res = await fetch(`${namer.url}/api/1/dtabs/${ns}`, { headers: { accept: "application/dtab" } });
  expect(res.status).toBe(200);
  return { version: (res.headers.get("etag") ?? "").replace(/"/g, ""), dtab: (await res.text()).trim() };
}

async function apiPut(namer: NamerProcess, ns: string, dtab: string, version: string, token?: string): Promise<string> {
  const res = await fetch(`${namer.url}/api/1/dtabs/${ns}`, {
    method: "PUT",
    headers: { "content-type": "application/dtab", "if-match": version, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: dtab,
  });
  expect(res.status).toBe(204);
  return res.headers.get("etag") ?? "";
}

/** A raw PUT, for headers fetch will not set (Host). */
async function rawPut(url: string, headers: Record<string, string>, body: string): Promise<number> {
  return (await send(url, { method: "PUT", headers, body })).status;
}

const show = (text: string): string => Dtab.read(text).show;
/** The 4xx answers these tests provoke on purpose show up as console lines; anything else is a problem. */
const unexpected = (problems: readonly string[]) => problems.filter((p) => !/status of 4\d\d/.test(p));

describe("namer dtab pages (browser)", () => {
  let open: NamerProcess;
  let guarded: NamerProcess;
  let browser: Browser;

  beforeAll(async () => {
    [open, guarded, browser] = await Promise.all([
      startNamerProcess({ storage: { kind: "io.l5d.inMemory", namespaces: { default: "/svc => /#/io.l5d.fs", staging: "/svc => /#/io.l5d.fs/staging" } } }),
      startNamerProcess({ storage: { kind: "io.l5d.inMemory", namespaces: { default: "/svc => /#/io.l5d.fs" } }, iface: { writeTokens: [TOKEN] } }),
      launchBrowser(),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([open?.stop(), guarded?.stop()]);
  });

  it("lists namespaces and saves an edit with the version it loaded", async () => {
    const { page, problems } = await openPage(browser);
    const before = await apiGet(open, "default");
    await page.goto(`${open.adminUrl}/`);
    await page.waitForSelector('#app[data-ready="true"]');
    expect(await page.locator("tr[data-ns]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-ns")))).toEqual(["default", "staging"]);
    await page.click('tr[data-ns="default"] a');

    await page.waitForSelector(`#version[data-version="${before.version}"]`);
    expect(show(await page.inputValue("#dtab-text"))).toBe(before.dtab);
    const edited = "/svc => /#/io.l5d.fs;\n/svc/users => /#/io.l5d.fs/users-v2;";
    await page.fill("#dtab-text", edited);
    await page.click("#save");

    const next = String(Number(before.version) + 1);
    await page.waitForSelector(`[data-saved-version="${next}"]`);
    expect(await page.getAttribute("#version", "data-version")).toBe(next);
    const after = await apiGet(open, "default");
    expect(after).toEqual({ version: next, dtab: show(edited) });
    // The history lists the new version as current, by the loopback writer.
    await page.waitForSelector(`#history tr[data-version="${next}"]`);
    expect(await page.textContent(`#history tr[data-version="${next}"]`)).toContain("current");
    await screenshot(page, "namer-saved");

    // Rolling back to the first version writes a new version with its dtab (If-Match: the current one).
    await page.click(`[data-rollback="${before.version}"]`);
    const rolled = String(Number(next) + 1);
    await page.waitForSelector(`[data-saved-version="${rolled}"]`);
    expect(await apiGet(open, "default")).toEqual({ version: rolled, dtab: before.dtab });
    expect(show(await page.inputValue("#dtab-text"))).toBe(before.dtab);
    expect(problems).toEqual([]);
  });

  it("shows a conflict when the dtab changed behind its back, and never overwrites it", async () => {
    const { page, problems } = await openPage(browser);
    const loaded = await apiGet(open, "staging");
    await page.goto(`${open.adminUrl}/?ns=staging`);
    await page.waitForSelector(`#version[data-version="${loaded.version}"]`);

    // Someone else writes between our load and our save.
    const theirs = "/svc => /#/io.l5d.fs/staging;\n/svc/billing => /#/io.l5d.fs/billing-canary";
    const theirVersion = await apiPut(open, "staging", theirs, loaded.version);
    const mine = "/svc => /#/io.l5d.fs/staging;\n/svc/users => /#/io.l5d.fs/users-v3";
    await page.fill("#dtab-text", mine);
    await page.click("#save");

    const conflict = page.locator(`#conflict[data-their-version="${theirVersion}"]`);
    await conflict.waitFor();
    expect(show(await page.textContent("#their-dtab") ?? "")).toBe(show(theirs));
    expect(await conflict.locator(".diff-add").allTextContents()).toEqual(["+ /svc/billing=>/#/io.l5d.fs/billing-canary\n"]);
    expect(await conflict.locator(".diff-del").allTextContents()).toEqual(["- /svc/users=>/#/io.l5d.fs/users-v3\n"]);
    // The stored dtab is the other writer's; the editor still holds ours.
    expect(await apiGet(open, "staging")).toEqual({ version: theirVersion, dtab: show(theirs) });
    expect(await page.inputValue("#dtab-text")).toBe(mine);
    expect(await page.getAttribute("#version", "data-version")).toBe(loaded.version);
    await screenshot(page, "namer-conflict");

    // Choosing to keep ours on top of theirs is explicit; then Save replaces their version.
    await page.click("#keep-mine");
    await page.waitForSelector(`#version[data-version="${theirVersion}"]`);
    await page.click("#save");
    const next = String(Number(theirVersion) + 1);
    await page.waitForSelector(`[data-saved-version="${next}"]`);
    expect(await apiGet(open, "staging")).toEqual({ version: next, dtab: show(mine) });
    expect(unexpected(problems)).toEqual([]);
  });

  it("needs the API's write token to save when the API has tokens", async () => {
    const { page, problems } = await openPage(browser);
    const loaded = await apiGet(guarded, "default");
    await page.goto(`${guarded.adminUrl}/?ns=default`);
    await page.waitForSelector(`#version[data-version="${loaded.version}"]`);
    const edited = "/svc => /#/io.l5d.fs;\n/svc/a => /#/io.l5d.fs/b";
    await page.fill("#dtab-text", edited);
    await page.click("#save");
    await page.locator('[data-error="auth"]').waitFor();
    expect(await apiGet(guarded, "default")).toEqual(loaded);

    await page.fill("#token", TOKEN);
    await page.click("#save");
    const next = String(Number(loaded.version) + 1);
    await page.waitForSelector(`[data-saved-version="${next}"]`);
    expect(await apiGet(guarded, "default")).toEqual({ version: next, dtab: show(edited) });
    // The history records the token's name, never the token.
    const history = await page.textContent("#history");
    expect(history).toContain("token-1");
    expect(history).not.toContain(TOKEN);
    expect(unexpected(problems)).toEqual([]);
  });

  it("answers the base admin endpoints, hides secrets, and refuses cross-site writes", async () => {
    const admin = guarded.adminUrl;
    expect(await (await fetch(`${admin}/admin/ping`)).text()).toBe("pong");
    expect((await fetch(`${admin}/live`)).status).toBe(200);
    expect((await fetch(`${admin}/ready`)).status).toBe(200);
    const flat = (await (await fetch(`${admin}/admin/metrics.json?q=namer_`)).json()) as Record<string, number>;
    expect(flat["namer_store_writable"]).toBe(1);
    expect(Object.keys(flat).every((k) => k.includes("namer_"))).toBe(true);
    const config = await (await fetch(`${admin}/config.json`)).text();
    expect(config).toContain("writeTokens");
    expect(config).not.toContain(TOKEN);
    expect(await (await fetch(`${admin}/logging`)).json()).toMatchObject({ level: "info" });
    expect((await fetch(`${admin}/logging?level=debug`, { method: "PUT" })).status).toBe(200);
    expect(await (await fetch(`${admin}/logging`)).json()).toMatchObject({ level: "debug" });

    // A page on another site (the browser says so) may not write, even with the token and from loopback.
    const before = await apiGet(guarded, "default");
    const put = (headers: Record<string, string>) =>
      fetch(`${admin}/api/1/dtabs/default`, { method: "PUT", headers: { "content-type": "application/dtab", "if-match": before.version, ...headers }, body: "/svc => /#/evil" });
    expect((await put({ origin: "http://evil.example", authorization: `Bearer ${TOKEN}` })).status).toBe(403);
    expect((await put({ "sec-fetch-site": "cross-site", authorization: `Bearer ${TOKEN}` })).status).toBe(403);
    expect((await fetch(`${admin}/admin/shutdown`, { method: "POST", headers: { origin: "http://evil.example" } })).status).toBe(403);
    // Without the token, the write is refused exactly as the API refuses it.
    expect((await put({})).status).toBe(401);
    expect(await apiGet(guarded, "default")).toEqual(before);

    // Loopback trust without a token: a DNS name other than localhost may be a rebinding attack.
    const loopbackOnly = await apiGet(open, "default");
    const headers = { "content-type": "application/dtab", "if-match": loopbackOnly.version };
    const port = new URL(open.adminUrl).port;
    expect(await rawPut(`${open.adminUrl}/api/1/dtabs/default`, { ...headers, host: `rebind.example:${port}` }, "/svc => /#/evil")).toBe(403);
    expect(await apiGet(open, "default")).toEqual(loopbackOnly);
    expect(await rawPut(`${open.adminUrl}/api/1/dtabs/default`, { ...headers, host: `localhost:${port}` }, "/svc => /#/io.l5d.fs/ok")).toBe(204);
  });
});
