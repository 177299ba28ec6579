// `npm start` runs `meshd demo`: a namer on the embedded store, seeded with
// the example dtab, that prints what to try — and those commands work.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MESHD, ManagedProcess, NAMERCTL, runCli } from "../support/process.ts";
import { freePort } from "../support/redis.ts";

describe("meshd demo", () => {
  it("starts a seeded namer without Redis and prints commands that work", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "meshd-demo-")), "data");
    const port = await freePort();
    const adminPort = await freePort();
    const demo = new ManagedProcess(MESHD, ["demo", "--data-dir", dataDir, "--port", String(port), "--admin-port", String(adminPort)]);
    try {
      await demo.waitFor("Stop with Ctrl-C.");
      expect(demo.output).toContain(`namer API    http://127.0.0.1:${port}`);
      expect(demo.output).toContain("npx namerctl dtab get default");
      const got = await runCli(NAMERCTL, ["dtab", "get", "default", "--json"], { env: { NAMERCTL_BASE_URL: `http://127.0.0.1:${port}` } });
      expect(got.code).toBe(0);
      const doc = JSON.parse(got.stdout) as { version: string; dtab: { prefix: string }[] };
      expect(doc.version).toBe("1");
      expect(doc.dtab.map((d) => d.prefix)).toEqual(["/svc", "/svc/web", "/svc/legacy"]);
      expect((await fetch(`http://127.0.0.1:${adminPort}/ready`)).status).toBe(200);
    } finally {
      expect(await demo.stop()).toBe(0);
    }
  });
});
