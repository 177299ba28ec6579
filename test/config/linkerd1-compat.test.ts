// Real-world compatibility: `meshd validate` over 59 public Linkerd 1 and
// namerd configs (test/fixtures/linkerd1-configs, see INDEX.md there). Each
// one either loads unchanged or is rejected for a feature meshd does not
// have, and the rejection names the kind or key, its YAML path and its line.
// The table below is the expected outcome of every file, so a regression in
// either direction (a supported config rejected, an unsupported one let
// through, a reason lost) fails.
import { readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { MESHD, runCli, type RunResult } from "../support/process.ts";

const DIR = "test/fixtures/linkerd1-configs";

/**
 * Per fixture: "loads", or every problem meshd reports as `<YAML path>:
 * <subject>`, where the subject is the kind or key that is not supported
 * ("unknown key" for a key meshd does not know at all).
 */
const EXPECTED: Readonly<Record<string, "loads" | readonly string[]>> = {
  "Linkerd-POC__linkerd.yaml": [
    "routers[0].identifier[0].kind: io.buoyant.helloWorldIdentifier",
    "routers[0].service.responseClassifier.kind: io.buoyant.headerClassifier",
    "routers[0].service.responseClassifier.headerName: unknown key",
    "routers[1].protocol: thrift",
    "routers[2].protocol: thrift",
  ],
  "docker-linkerd-namerd-etcd__linkerd.yaml": [
    "routers[0].interpreter.kind: io.l5d.namerd",
    "routers[1].interpreter.kind: io.l5d.namerd",
  ],
  "docker-linkerd-namerd-etcd__namerd.yaml": [
    "storage.kind: io.l5d.etcd",
    "interfaces[1].kind: io.l5d.thriftNameInterpreter",
  ],
  "example_linkerd__config__linkerd.yaml": [
    "routers[0].interpreter.kind: io.l5d.namerd",
  ],
  "finatra-microservices__linkerd__config__config.yaml": [
    "namers[0].kind: io.l5d.serversets",
    "telemetry[0].kind: io.l5d.zipkin",
  ],
  "gocrawl__linkerd__config.yaml": [
    "routers[2].protocol: h2",
  ],
  "grpc-linkerd-PoC__linkerd.yaml": [
    "routers[0].protocol: h2",
  ],
  "imma-config__linkerd__linkerd.yaml": [
    "namers[0].kind: io.l5d.consul",
  ],
  "imma-config__namerd__namerd.yaml": [
    "interfaces[0].kind: io.l5d.thriftNameInterpreter",
    "namers[0].kind: io.l5d.consul",
  ],
  "k8s-l5d__n4d.yaml": [
    "interfaces[1].kind: io.l5d.thriftNameInterpreter",
  ],
  "kiwi-k8s__linkerd__namerd.yaml": [
    "storage.kind: io.l5d.k8s",
    "interfaces[0].kind: io.l5d.thriftNameInterpreter",
    "namers[0].kind: io.l5d.k8s",
  ],
  "kong-linkerd-zipkin__linkerd__config.yaml": [
    "telemetry[0].kind: io.zipkin.http",
  ],
  "l5d-experiments__linkerd.yaml": [
    "namers[0].kind: io.l5d.consul",
  ],
  "l5d-experiments__namerd.yaml": [
    "storage.kind: io.l5d.consul",
    "namers[0].kind: io.l5d.consul",
  ],
  "l5d_bug__linkerd.yaml": [
    "routers[1].protocol: h2",
  ],
  "linkerd-1741-repro__namerd.yaml": [
    "interfaces[0].kind: io.l5d.thriftNameInterpreter",
    "interfaces[1].kind: io.l5d.mesh",
    "namers[0].kind: io.l5d.k8s",
  ],
  "linkerd-consul-test__linkerd.yaml": [
    "namers[0].kind: io.l5d.consul",
    "namers[1].kind: io.l5d.consul",
    "routers[0].protocol: thrift",
  ],
  "linkerd-docker-example__config__namerd.yaml": [
    "storage.kind: io.l5d.zk",
    "interfaces[1].kind: io.l5d.mesh",
  ],
  "linkerd-examples__add-steps__linkerd.yaml": "loads",
  "linkerd-examples__consul__linkerd.yaml": [
    "namers[0].kind: io.l5d.consul",
  ],
  "linkerd-examples__dcos__linker-to-linker-with-namerd__linkerd-config.yaml": [
    "routers[0].interpreter.kind: io.l5d.namerd",
    "routers[1].interpreter.kind: io.l5d.namerd",
  ],
  "linkerd-examples__dcos__linkerd-marathon-auth__linkerd-config.yaml": [
    "namers[0].kind: io.l5d.marathon",
  ],
  "linkerd-examples__dcos__namerd__namerd-config.yaml": [
    "storage.kind: io.l5d.zk",
    "interfaces[0].kind: io.l5d.thriftNameInterpreter",
    "namers[0].kind: io.l5d.marathon",
  ],
  "linkerd-examples__failure-accrual__linkerd.yaml": "loads",
  "linkerd-examples__getting-started__docker__linkerd.yaml": "loads",
  "linkerd-examples__influxdb__linkerd1.yaml": [
    "telemetry[0].kind: io.l5d.influxdb",
  ],
  "linkerd-examples__k8s-daemonset__k8s__linkerd-latency.yaml": [
    "namers[0].kind: io.l5d.k8s",
    "routers[0].interpreter.transformers[0].kind: io.l5d.k8s.daemonset",
    "routers[1].interpreter.transformers[0].kind: io.l5d.k8s.localnode",
  ],
  "linkerd-examples__k8s-daemonset__k8s__linkerd-namerd.yaml": [
    "routers[0].interpreter.kind: io.l5d.namerd",
    "routers[1].interpreter.kind: io.l5d.namerd",
    "routers[2].interpreter.kind: io.l5d.namerd",
  ],
  "linkerd-examples__k8s-daemonset__k8s__linkerd-tls.yaml": [
    "namers[0].kind: io.l5d.k8s",
    "routers[0].interpreter.transformers[0].kind: io.l5d.k8s.daemonset",
    "routers[0].client.tls: tls",
    "routers[1].interpreter.transformers[0].kind: io.l5d.k8s.localnode",
    "routers[1].servers[0].tls: tls",
  ],
  "linkerd-examples__k8s-daemonset__k8s__linkerd.yaml": [
    "namers[0].kind: io.l5d.k8s",
    "routers[0].interpreter.transformers[0].kind: io.l5d.k8s.daemonset",
    "routers[1].interpreter.transformers[0].kind: io.l5d.k8s.localnode",
  ],
  "linkerd-examples__k8s-daemonset__k8s__namerd.yaml": [
    "storage.kind: io.l5d.k8s",
    "interfaces[0].kind: io.l5d.thriftNameInterpreter",
    "interfaces[2].kind: io.l5d.mesh",
    "namers[0].kind: io.l5d.k8s",
  ],
  "linkerd-examples__k8s-daemonset__k8s__servicemesh.yaml": [
    "namers[0].kind: io.l5d.k8s",
    "namers[1].kind: io.l5d.k8s",
    "namers[2].kind: io.l5d.k8s",
    "namers[3].kind: io.l5d.k8s",
    "namers[4].kind: io.l5d.rewrite",
    "routers[0].client.configs[0].prefix: {service}",
    "routers[0].client.configs[0].tls: tls",
    "routers[1].interpreter.transformers[0].kind: io.l5d.k8s.localnode",
    "routers[2].protocol: h2",
    "routers[3].protocol: h2",
    "routers[4].protocol: h2",
    "routers[5].protocol: h2",
    "routers[6].identifier.kind: io.l5d.ingress",
    "routers[7].protocol: h2",
  ],
  "linkerd-grpc__linker-to-linker__config__linkerd.yaml": [
    "routers[0].protocol: h2",
    "routers[1].protocol: h2",
  ],
  "linkerd-in-action__vagrant__chapter3__linkerd.yaml": [
    "namers[0].kind: io.l5d.consul",
  ],
  "linkerd-in-action__vagrant__chapter6__linkerd.yaml": [
    "routers[0].interpreter.kind: io.l5d.mesh",
  ],
  "linkerd-in-action__vagrant__chapter6__namerd.yaml": [
    "storage.kind: io.l5d.consul",
    "interfaces[0].kind: io.l5d.mesh",
    "namers[0].kind: io.l5d.consul",
  ],
  "linkerd-microservices__k8s__sidecar__sidecar-msa-linkerd.yaml": [
    "namers[0].kind: io.l5d.k8s",
    "telemetry[1].kind: io.l5d.zipkin",
  ],
  "linkerd-performance-benchmark__linkerd.yaml": [
    "routers[1].protocol: thrift",
    "routers[2].protocol: thrift",
  ],
  "linkerd-rancher-namer__linkerd.yaml": [
    "namers[0].kind: io.l5d.rancher",
  ],
  "linkerd__linkerd__examples__client-options.yaml": [
    "routers[0].client.configs[2].loadBalancer.kind: aperture",
    "routers[0].client.configs[2].socketOptions: socketOptions",
    "routers[0].client.configs[3].prefix: {service}",
    "routers[0].client.configs[3].tls: tls",
  ],
  "linkerd__linkerd__examples__h2.yaml": [
    "routers[0].protocol: h2",
  ],
  "linkerd__linkerd__examples__k8s-servicemesh.yaml": [
    "namers[0].kind: io.l5d.k8s",
    "routers[0].interpreter.transformers[0].kind: io.l5d.k8s.daemonset",
    "routers[1].interpreter.transformers[0].kind: io.l5d.k8s.localnode",
  ],
  "linkerd__linkerd__examples__mutualTls.yaml": [
    "routers[0].servers[0].tls: tls",
    "routers[0].client.tls: tls",
  ],
  "linkerd__linkerd__examples__retries.yaml": "loads",
  "linkerd__linkerd__examples__service-options.yaml": "loads",
  "linkerd__linkerd__examples__servicemesh.yaml": "loads",
  "linkerd__namerd__examples__k8s-mesh.yaml": [
    "interfaces[0].kind: io.l5d.thriftNameInterpreter",
    "namers[0].kind: io.l5d.k8s",
    "namers[1].kind: io.l5d.k8s",
  ],
  "linkerd__namerd__examples__tls.yaml": [
    "interfaces[0].kind: io.l5d.thriftNameInterpreter",
    "interfaces[1].tls: tls",
    "interfaces[2].tls: tls",
    "interfaces[3].kind: io.l5d.mesh",
    "admin.tls: tls",
  ],
  "linkerdexample__linkerd.yaml": [
    "telemetry[0].kind: io.l5d.commonMetrics",
    "tracers: tracers",
  ],
  "microservices-versioning-and-disco__config__linkerd.yaml": [
    "routers[0].interpreter.kind: io.l5d.namerd",
  ],
  "microservices-versioning-and-disco__config__namerd.yaml": [
    "storage.kind: io.l5d.consul",
    "interfaces[0].kind: io.l5d.thriftNameInterpreter",
    "namers[0].kind: io.l5d.consul",
  ],
  "node-thrift-linkerd__config__linkerd.yaml": [
    "routers[1].protocol: thrift",
  ],
  "proposal-linkerd-grpc__linkerd.yaml": [
    "routers[0].protocol: h2",
  ],
  "service-mesh__namerd.yaml": [
    "namers[0].kind: io.l5d.k8s",
    "namers[1].kind: io.l5d.rewrite",
  ],
  "stable__namerd__config.yaml": [
    "storage.kind: io.l5d.k8s",
    "interfaces[0].kind: io.l5d.thriftNameInterpreter",
    "namers[0].kind: io.l5d.k8s",
  ],
  "stringservice__linkerd__linkerd.yaml": [
    "namers[0].kind: io.l5d.k8s",
    "routers[0].interpreter.transformers[0].kind: io.l5d.k8s.daemonset",
    "routers[1].interpreter.transformers[0].kind: io.l5d.k8s.localnode",
    "tracers: tracers",
  ],
  "us-playground-scripts__linkerd-ocd__dev__linkerd.yaml": [
    "namers[0].kind: io.l5d.consul",
    "namers[1].kind: io.l5d.rewrite",
    "namers[2].kind: io.l5d.rewrite",
  ],
  "writers-reader-discarded__linkerd.yaml": "loads",
  "xebigo__k8s__linkerd.yaml": [
    "namers[0].kind: io.l5d.k8s",
    "routers[0].interpreter.transformers[0].kind: io.l5d.k8s.daemonset",
    "routers[0].client.retries: retries",
    "routers[0].responseClassifier: responseClassifier",
    "routers[1].interpreter.transformers[0].kind: io.l5d.k8s.localnode",
    "routers[1].client.retries: retries",
    "routers[1].responseClassifier: responseClassifier",
  ],
};

/** Runs `meshd validate` over every fixture, two processes at a time. */
async function validateAll(files: readonly string[]): Promise<Map<string, RunResult>> {
  const results = new Map<string, RunResult>();
  const queue = [...files];
  const worker = async (): Promise<void> => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      results.set(file, await runCli(MESHD, ["validate", "--config", `${DIR}/${file}`]));
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

interface Problem {
  readonly line: number;
  readonly column: number;
  readonly path: string;
  readonly message: string;
}

/** One `meshd: file:line:col: path: message` line of the error output. */
function parseProblem(file: string, text: string): Problem {
  const m = new RegExp(`^(?:meshd: )?${DIR}/${file.replaceAll(".", "\\.")}:(\\d+):(\\d+): (\\S+): (.+)$`).exec(text);
  if (m === null) throw new Error(`not a located config error: ${text}`);
  return { line: Number(m[1]), column: Number(m[2]), path: m[3] as string, message: m[4] as string };
}

/** What a problem is about: the unsupported kind or key, or "unknown key". */
function subject(p: Problem): string {
  return /^(\S+) is not supported/.exec(p.message)?.[1] ?? /^unknown kind '([^']+)'/.exec(p.message)?.[1] ?? (p.message.startsWith("unknown key") ? "unknown key" : p.message);
}

describe("Linkerd 1 configs from the wild", () => {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
  let results = new Map<string, RunResult>();

  beforeAll(async () => {
    results = await validateAll(files);
    const loads = files.filter((f) => results.get(f)?.code === 0);
    console.log(`linkerd1 compatibility: ${loads.length} of ${files.length} configs load unchanged:\n  ${loads.join("\n  ")}`);
  }, 180_000);

  it("has every fixture in the table, each with its source on line 1, and the corpus index", () => {
    expect(files.length).toBe(59);
    expect(Object.keys(EXPECTED).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(`${DIR}/${f}`, "utf8")).toMatch(/^# source: \S+\/\S+ \S+@[0-9a-f]{40}\n/);
    expect(readFileSync(`${DIR}/INDEX.md`, "utf8")).toContain("59 config files");
  });

  it("examples/linkerd1-router.yaml, written in Linkerd 1's keys and kinds only, loads unchanged", async () => {
    const result = await runCli(MESHD, ["validate", "--config", "examples/linkerd1-router.yaml"]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("examples/linkerd1-router.yaml: ok (router: 1 router(s), 1 server(s), admin 127.0.0.1:9990)\n");
  });

  it.each(files)("%s", (file) => {
    const result = results.get(file);
    const expected = EXPECTED[file];
    if (result === undefined || expected === undefined) throw new Error(`no result or expectation for ${file}`);
    if (expected === "loads") {
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/: ok \((router|namer): /);
      return;
    }
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const problems = result.stderr.trimEnd().split("\n").map((l) => parseProblem(file, l));
    expect(problems.map((p) => `${p.path}: ${subject(p)}`).sort()).toEqual([...expected].sort());
    const lines = readFileSync(`${DIR}/${file}`, "utf8").split("\n");
    for (const p of problems) {
      // Never zod's generic wording; always the reason or the alternatives.
      expect(p.message).not.toMatch(/Invalid input|Unrecognized key|Invalid option/);
      expect(p.message).toMatch(/is not supported|; supported( keys)?: /);
      // The line and column point at the kind's value or the key itself.
      const at = (lines[p.line - 1] ?? "").slice(p.column - 1).replace(/^["']/, "");
      const named = subject(p) === "unknown key" ? (p.path.split(".").at(-1) as string) : subject(p);
      expect(at, `${file}:${p.line}:${p.column}`).toContain(named);
    }
  });
});
