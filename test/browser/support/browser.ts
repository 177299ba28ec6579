// Headless Chromium for the admin page tests, driven by playwright-core with
// the system's browser (Debian's `chromium`): no browser download. A missing
// browser fails the tests with the command that installs it; it never skips
// them. Each page records its script errors and refused requests (a
// Content-Security-Policy violation shows up as one) so tests can assert none.
import { accessSync, constants, mkdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

const root = new URL("../../..", import.meta.url).pathname;
export const SCREENSHOTS = join(root, "test-results", "screenshots");

/** Debian's /usr/bin/chromium, else a `chromium` (or `chromium-browser`) on PATH. */
export function findChromium(): string {
  const candidates = ["/usr/bin/chromium"];
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir !== "") candidates.push(join(dir, "chromium"), join(dir, "chromium-browser"));
  }
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error(
    "The browser tests need Chromium, and none was found (looked for /usr/bin/chromium and chromium on PATH). " +
      "Install it with `sudo apt-get install chromium` (Debian/Ubuntu) and run the tests again.",
  );
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), headless: true });
}

export interface WatchedPage {
  readonly page: Page;
  /** Uncaught script errors, console errors and failed requests seen so far. */
  readonly problems: string[];
}

export async function openPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(8_000);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`script error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  return { page, problems };
}

/** Saves a full-page screenshot as test-results/screenshots/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
