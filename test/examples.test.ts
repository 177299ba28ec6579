// Every shipped example works with the meshd that ships it: each router and
// namer config under examples/ passes `meshd validate`, and each dtab file
// passes `meshd dtab check`, run as real processes the way a user runs them.
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { MESHD, runCli } from "./support/process.ts";

const root = new URL("..", import.meta.url).pathname;
const examples = join(root, "examples");

/**
 * YAML under examples/ that is not a meshd config: Kubernetes manifests
 * (their ConfigMaps' configs are checked in test/deploy/k8s.test.ts) and
 * Prometheus' config.
 */
const notMeshdConfig = (rel: string): boolean => rel.startsWith("k8s/") || rel === "compose/prometheus.yml";

// Secrets the configs read with ${VAR}; a user sets them before starting.
const env = { NAMER_TOKEN: "examples-test-token", REGISTRY_TOKEN: "examples-test-token" };

/** Runs `fn` over `items`, two at a time: each is a Node process, and CI machines may have two cores. */
async function eachLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += 2) out.push(...(await Promise.all(items.slice(i, i + 2).map(fn))));
  return out;
}

// A process start under load can take seconds; the default limit is meant for single runs.
const timeoutMs = 60_000;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(relative(examples, path));
  }
  return out.sort();
}

let configs: string[] = [];
let dtabs: string[] = [];

beforeAll(async () => {
  const all = await filesUnder(examples);
  configs = all.filter((f) => /\.ya?ml$/.test(f) && !notMeshdConfig(f));
  dtabs = all.filter((f) => f.endsWith(".dtab"));
});

describe("example configs", () => {
  it("include the top-level and compose examples (so a broken search cannot pass vacuously)", () => {
    expect(configs).toEqual(expect.arrayContaining(["router.yaml", "router-fs.yaml", "namer.yaml", "namer-redis.yaml", "compose/router.yaml", "compose/namer.yaml"]));
    expect(dtabs).toEqual(expect.arrayContaining(["dtabs/default.dtab", "dtabs/failover.dtab", "dtabs/canary.dtab", "compose/mesh.dtab"]));
  });

  it("all pass `meshd validate`", { timeout: 120_000 }, async () => {
    const results = await eachLimited(configs, async (file) => ({ file, result: await runCli(MESHD, ["validate", "--config", `examples/${file}`], { env, timeoutMs }) }));
    for (const { file, result } of results) {
      expect(result.stderr, file).toBe("");
      expect(result.stdout, file).toMatch(new RegExp(`^examples/${file.replaceAll(".", "\\.")}: ok \\((router|namer): `));
      expect(result.code, file).toBe(0);
    }
  });

  it("all dtab files pass `meshd dtab check` and hold at least one dentry; failover and canary show `|` and `&`", { timeout: 120_000 }, async () => {
    const results = await eachLimited(dtabs, async (file) => ({ file, result: await runCli(MESHD, ["dtab", "check", `examples/${file}`], { timeoutMs }) }));
    for (const { file, result } of results) {
      expect(result.stderr, file).toBe("");
      expect(result.stdout, file).toMatch(/=>/);
      expect(result.code, file).toBe(0);
    }
    const output = new Map(results.map(({ file, result }) => [file, result.stdout]));
    expect(output.get("dtabs/failover.dtab")).toContain("/svc => /#/registry | /#/io.l5d.fs;");
    expect(output.get("dtabs/canary.dtab")).toContain("/svc/web => 9.00*/#/io.l5d.fs/web-v1 & /#/io.l5d.fs/web-v2;");
  });
});
