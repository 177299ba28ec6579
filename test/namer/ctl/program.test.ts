// namerctl's command line in process: option parsing, exit codes for help
// and usage errors, and the "namerctl: " framing of messages on stderr.
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "commander";
import { main, parseDuration } from "../../../namer/ctl/program.ts";

async function run(argv: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { env, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), version: "9.9.9" });
  return { code, stdout, stderr };
}

describe("parseDuration", () => {
  it("reads ms, s, m and bare seconds", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("10s")).toBe(10_000);
    expect(parseDuration("2m")).toBe(120_000);
    expect(parseDuration("1.5")).toBe(1500);
  });

  it("refuses nonsense, zero and more than an hour", () => {
    for (const bad of ["", "10 minutes", "-1s", "0", "2h", "61m"]) expect(() => parseDuration(bad), bad).toThrow(InvalidArgumentError);
  });
});

describe("main", () => {
  it("exits 0 for --help and --version, printing to stdout", async () => {
    const help = await run(["dtab", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("update|up [options] <namespace> <file>");
    const top = await run(["--help"]);
    for (const verb of ["bind [options] <namespace> <path>", "resolve [options] <namespace> <path>", "delegate [options] <namespace> <path>", "register [options] <service> <host:port>", "deregister [options] <service> <host:port>", "instances [options] <service>"]) {
      expect(top.stdout).toContain(verb);
    }
    const version = await run(["--version"]);
    expect(version).toEqual({ code: 0, stdout: "9.9.9\n", stderr: "" });
  });

  it("exits 2 with a namerctl: message for usage errors, before any request", async () => {
    const cases: Array<[readonly string[], RegExp]> = [
      [["dtab", "nope"], /^namerctl: unknown command 'nope'/],
      [["dtab", "rollback", "ns"], /^namerctl: missing required argument 'version'/],
      [["dtab", "rollback", "ns", "latest"], /^namerctl: command-argument value 'latest' is invalid/],
      [["dtab", "history", "ns", "--limit", "0"], /^namerctl: option '--limit <n>' argument '0' is invalid/],
      [["dtab", "ls", "--timeout", "forever"], /^namerctl: option '--timeout <duration>' argument 'forever' is invalid/],
      [["dtab", "ls", "--bogus"], /^namerctl: unknown option '--bogus'/],
      [["bind", "default"], /^namerctl: missing required argument 'path'/],
      [["resolve", "default", "/svc/a", "--dtab"], /^namerctl: option '--dtab <dtab>' argument missing/],
      [["delegate", "default", "/svc/a", "--watch"], /^namerctl: unknown option '--watch'/],
      [["register", "users", "10.0.0.1"], /^namerctl: command-argument value '10.0.0.1' is invalid for argument 'host:port'. give HOST:PORT/],
      [["register", "users", "10.0.0.1:80", "--ttl", "soon"], /^namerctl: option '--ttl <seconds>' argument 'soon' is invalid/],
      [["deregister", "users"], /^namerctl: missing required argument 'host:port'/],
      [["instances", "a/b"], /^namerctl: command-argument value 'a\/b' is invalid for argument 'service'/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv, { NAMERCTL_BASE_URL: "http://127.0.0.1:9" });
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr, argv.join(" ")).toMatch(message);
      expect(r.stdout).toBe("");
    }
    const badUrl = await run(["dtab", "ls"], { NAMERCTL_BASE_URL: "namer:4180" });
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toBe(
      'namerctl: the namer URL must start with http:// or https://, got "namer:4180" (did you mean "http://namer:4180"?)\n(run namerctl --help for usage)\n',
    );
  });

  it("takes the connection options before or after the verb, the nearest winning, and keeps --version for the verb", async () => {
    const after = await run(["--namer", "http://127.0.0.1:9/outer", "dtab", "ls", "--namer", "http://127.0.0.1:9/inner", "--timeout", "300ms"]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("http://127.0.0.1:9/inner");
    // `--version 3` belongs to update: it fails reading the file, not by printing namerctl's version.
    const update = await run(["dtab", "update", "ns", "/nonexistent/file.dtab", "--version", "3"]);
    expect(update).toEqual({ code: 1, stdout: "", stderr: "namerctl: cannot read /nonexistent/file.dtab: no such file\n" });
  });
});
