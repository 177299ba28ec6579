// The package as users meet it: `import ... from "meshd/dtab"` resolves to
// the built JavaScript, the bins start (and refuse old Node.js clearly), and
// the offline dtab commands answer with the documented exit codes.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = new URL("..", import.meta.url).pathname;

async function node(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const child = run(process.execPath, args, { cwd: root });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

describe("meshd/dtab", () => {
  it("resolves by self-reference to built JavaScript and works", async () => {
    const script = `
      const url = import.meta.resolve("meshd/dtab");
      const { Dtab, Path, NameTree } = await import("meshd/dtab");
      console.log(url);
      console.log(NameTree.show(Dtab.read("/svc=>/$/inet/127.0.0.1").lookup(Path.read("/svc/80"))));
    `;
    const { code, stdout, stderr } = await node(["--input-type=module", "-e", script]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const [url, shown] = stdout.trim().split("\n");
    expect(url).toMatch(/\/dist\/dtab\/index\.js$/);
    expect(shown).toBe("/$/inet/127.0.0.1/80");
  });
});

describe("bins", () => {
  it("meshd --version prints the package version", async () => {
    const { code, stdout } = await node(["bin/meshd.js", "--version"]);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("meshd runs as a script through its #! line, with its Node flags", async () => {
    // As an installed bin or the container's entrypoint runs it: exec'd directly, node found on PATH.
    const shebang = readFileSync(join(root, "bin/meshd.js"), "utf8").split("\n")[0];
    expect(shebang).toBe("#!/usr/bin/env -S node --max-semi-space-size=4 --no-maglev --liftoff-only --v8-pool-size=1 --heap-growing-percent=20");
    const { stdout } = await run(join(root, "bin/meshd.js"), ["--version"], { cwd: root, env: { ...process.env, PATH: `${join(process.execPath, "..")}:${process.env["PATH"] ?? ""}` } });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("refuse an old Node.js with a message saying what is needed", async () => {
    const script = `import { checkNode } from "./bin/check-node.js"; checkNode("meshd", "20.19.0"); console.log("went on");`;
    const { code, stdout, stderr } = await node(["--input-type=module", "-e", script]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain("Node.js 22.12 or newer is required");
    expect(stderr).toContain("v20.19.0");
  });

  it("meshd dtab check prints the canonical form, or the error with its place and exit 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meshd-"));
    const good = join(dir, "good.dtab");
    const bad = join(dir, "bad.dtab");
    writeFileSync(good, "# routes\n/svc => /#/io.l5d.fs ;\n/svc/web=>0.3*/a & 0.7*/b\n");
    writeFileSync(bad, "/svc => /a;\n/b => /c |;\n");
    const ok = await node(["bin/meshd.js", "dtab", "check", good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe("/svc => /#/io.l5d.fs;\n/svc/web => 0.30*/a & 0.70*/b;\n");
    const json = await node(["bin/meshd.js", "dtab", "check", "--json", good]);
    expect(JSON.parse(json.stdout)).toEqual([
      { prefix: "/svc", dst: "/#/io.l5d.fs" },
      { prefix: "/svc/web", dst: "0.30*/a & 0.70*/b" },
    ]);
    const failed = await node(["bin/meshd.js", "dtab", "check", bad]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`${bad}: expected a name tree`);
    expect(failed.stderr).toContain("offset 22 (line 2, column 11)");
    const missing = await node(["bin/meshd.js", "dtab", "check", join(dir, "nope.dtab")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cannot read");
  });

  it("meshd dtab delegate and bind explain a path; usage errors exit 2", async () => {
    const delegated = await node(["bin/meshd.js", "dtab", "delegate", "--dtab", "/svc=>/$/inet/127.1", "/svc/8080"]);
    expect(delegated.code).toBe(0);
    expect(delegated.stdout).toBe("/svc/8080\n└─ /$/inet/127.1/8080  via /svc=>/$/inet/127.1  ⇒ bound /$/inet/127.1/8080: 127.0.0.1:8080\n");
    const bound = await node(["bin/meshd.js", "dtab", "bind", "--json", "--dtab", "/svc=>/$/inet/127.1", "/svc/8080"]);
    expect(JSON.parse(bound.stdout)).toEqual({
      type: "leaf",
      value: { id: "/$/inet/127.1/8080", residual: "/", addrs: ["127.1:8080"] },
    });
    const badPath = await node(["bin/meshd.js", "dtab", "bind", "svc"]);
    expect(badPath.code).toBe(1);
    expect(badPath.stderr).toContain("path: expected '/'");
    const usage = await node(["bin/meshd.js", "dtab", "frobnicate"]);
    expect(usage.code).toBe(2);
  });
});

describe("the published package", () => {
  it("holds the built code and every file the admin pages serve", async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root });
    const files = new Set((JSON.parse(stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path));
    for (const path of ["bin/meshd.js", "bin/namerctl.js", "dist/cli/meshd.js", "dist/dtab/index.js", "examples/dtabs/demo.dtab", "router/admin/ui/index.html", "router/admin/ui/dtab.html", "namer/admin/ui/index.html", "lib/admin-ui/dom.js"]) {
      expect(files.has(path), path).toBe(true);
    }
    // Sources and tests stay out.
    expect([...files].filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect([...files].some((f) => f.startsWith("test/"))).toBe(false);
  });
});
