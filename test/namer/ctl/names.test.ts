// namerctl bind, resolve and delegate end to end: real namerctl processes
// against a real `meshd namer` process discovering from files (io.l5d.fs),
// with service files changed under a running `bind --watch`, the namer
// stopped under a watch, and SIGINT ending one.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DelegateJson } from "../../../dtab/index.ts";
import { formatDelegateTree } from "../../../dtab/explain.ts";
import { startNamerProcess, type NamerProcess } from "../../support/namer.ts";
import { eventually, ManagedProcess, NAMERCTL, runCli, type RunResult } from "../../support/process.ts";

const DTAB = "/srv => /#/io.l5d.fs ; /svc => /srv ; /svc/split => 9*/srv/users & 1*/srv/users-v2";

let namer: NamerProcess;
let disco: string;

const env = (url: string): Record<string, string | undefined> => ({ NAMERCTL_BASE_URL: url, NAMERCTL_TOKEN: undefined, NO_COLOR: "1", USER: "alice" });

function ctl(args: readonly string[]): Promise<RunResult> {
  return runCli(NAMERCTL, args, { env: env(namer.url) });
}

function ok(r: RunResult): RunResult {
  expect(r.stderr, r.stdout).toBe("");
  expect(r.code).toBe(0);
  return r;
}

/** A namerctl that keeps running (--watch), its stdout and stderr together in `output`. */
function watcher(args: readonly string[], url = namer.url): ManagedProcess {
  return new ManagedProcess(NAMERCTL, args, env(url));
}

async function exitOf(p: ManagedProcess, timeoutMs = 15_000): Promise<number | null> {
  if (!p.exited) {
    const timer = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs);
    await once(p.child, "exit");
    clearTimeout(timer);
  }
  return p.child.exitCode;
}

function service(name: string, lines: string): void {
  writeFileSync(join(disco, name), lines);
}

beforeAll(async () => {
  disco = mkdtempSync(join(tmpdir(), "namerctl-names-"));
  service("users", "127.0.0.1 8001\n127.0.0.1 8002 * 3\n");
  service("users-v2", "127.0.0.1 9001\n");
  namer = await startNamerProcess({
    storage: { kind: "io.l5d.inMemory", namespaces: { default: DTAB } },
    namers: [{ kind: "io.l5d.fs", rootDir: disco }],
    iface: { watchKeepAliveMs: 200 },
  });
  // The namer's first answer for a union can come before every branch's file is read (a namer
  // matter, not namerctl's): wait until it has both, so the drawings below are of the settled tree.
  await eventually(async () => {
    const r = await fetch(`${namer.url}/api/1/bind/default?path=/svc/split`);
    return (await r.text()).includes("users-v2") ? true : undefined;
  }, 10_000, "the split to bind both branches");
});

afterAll(async () => {
  await namer?.stop();
});

describe("namerctl bind", () => {
  it("draws a bound leaf with its residual and each address with its meta", async () => {
    const r = ok(await ctl(["bind", "default", "/svc/users/extra"]));
    expect(r.stdout).toBe(["/svc/users/extra ⇒ /#/io.l5d.fs/users  residual /extra  2 addresses", "├─ 127.0.0.1:8001", "└─ 127.0.0.1:8002  weight=3", ""].join("\n"));
  });

  it("draws a union with each branch's weight, and prints the namer's JSON with --json", async () => {
    const r = ok(await ctl(["bind", "default", "/svc/split"]));
    expect(r.stdout).toBe(
      [
        "/svc/split  union (balanced by weight)",
        "├─ 9 × /#/io.l5d.fs/users  2 addresses",
        "│  ├─ 127.0.0.1:8001",
        "│  └─ 127.0.0.1:8002  weight=3",
        "└─ 1 × /#/io.l5d.fs/users-v2  1 address",
        "   └─ 127.0.0.1:9001",
        "",
      ].join("\n"),
    );
    const json = JSON.parse(ok(await ctl(["bind", "default", "/svc/split", "--json"])).stdout) as DelegateJson;
    expect(json).toMatchObject({ type: "union", path: "/svc/split", union: [{ weight: 9, tree: { type: "leaf", bound: { id: "/#/io.l5d.fs/users" } } }, { weight: 1 }] });
  });

  it("binds through a local --dtab after the namespace's", async () => {
    const r = ok(await ctl(["bind", "default", "/svc/users", "--dtab", "/svc/users=>/srv/users-v2"]));
    expect(r.stdout).toBe("/svc/users ⇒ /#/io.l5d.fs/users-v2  1 address\n└─ 127.0.0.1:9001\n");
  });

  it("binds a namespace that does not exist as an empty dtab: neg, exit 0, with a note on stderr", async () => {
    const r = await ctl(["bind", "no-such-ns", "/svc/users"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("/svc/users  ✗ no binding (neg)\n");
    expect(r.stderr).toBe("namerctl: note: namespace no-such-ns does not exist, so it binds as an empty dtab\n");
  });

  it("shows the namer's message, offset and a caret for a bad path or --dtab (exit 1)", async () => {
    const path = await ctl(["bind", "default", "/svc/ x"]);
    expect(path.code).toBe(1);
    expect(path.stdout).toBe("");
    expect(path.stderr).toBe(
      "namerctl: bind /svc/ x in default: Invalid path: expected label char but found '\\u0020' at offset 5 in '/svc/[ ]x' [NAMER_ERR_INVALID_PATH]\n  /svc/ x\n       ^\n",
    );
    const dtab = await ctl(["bind", "default", "/svc/users", "--dtab", "/a=>", "--json"]);
    expect(dtab.code).toBe(1);
    expect(dtab.stdout).toBe("");
    expect(dtab.stderr).toMatch(/^namerctl: bind \/svc\/users in default: Invalid dtab: .* at offset 4 .*\[NAMER_ERR_INVALID_DTAB\]\n {2}\/a=>\n {6}\^\n$/);
  });

  it("--watch draws the tree again when a service file changes, a timestamped line between, until SIGINT (exit 0)", async () => {
    service("orders", "127.0.0.1 7001\n");
    const w = watcher(["bind", "default", "/svc/orders", "--watch"]);
    try {
      await w.waitFor("└─ 127.0.0.1:7001\n");
      service("orders", "127.0.0.1 7001\n127.0.0.1 7002 * 2\n");
      await w.waitFor("└─ 127.0.0.1:7002  weight=2\n");
      const renderings = w.output.split(/^--- \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ---\n/m);
      expect(renderings[0]).toBe("/svc/orders ⇒ /#/io.l5d.fs/orders  1 address\n└─ 127.0.0.1:7001\n");
      expect(renderings.at(-1)).toBe("/svc/orders ⇒ /#/io.l5d.fs/orders  2 addresses\n├─ 127.0.0.1:7001\n└─ 127.0.0.1:7002  weight=2\n");
      expect(await w.stop("SIGINT")).toBe(0);
    } finally {
      await w.stop("SIGKILL");
    }
  });

  it("--watch --json prints one parseable document a line, whatever the keep-alives in between", async () => {
    service("carts", "127.0.0.1 6001\n");
    const w = watcher(["bind", "default", "/svc/carts", "--watch", "--json"]);
    try {
      await w.waitFor("6001");
      // Keep-alives come every 200 ms: let a few go by before the change.
      await new Promise((r) => setTimeout(r, 500));
      service("carts", "127.0.0.1 6002\n");
      await w.waitFor("6002");
      expect(await w.stop("SIGINT")).toBe(0);
      const docs = w.output.trimEnd().split("\n").map((l) => JSON.parse(l) as DelegateJson);
      const ports = docs.map((d) => (d.type === "leaf" && d.bound.addr.type === "bound" ? d.bound.addr.addrs.map((a) => a.port) : []));
      expect(ports[0]).toEqual([6001]);
      expect(ports.at(-1)).toEqual([6002]);
    } finally {
      await w.stop("SIGKILL");
    }
  });

  it("--watch exits 1 saying so when the namer goes away", async () => {
    const other = await startNamerProcess({ storage: { kind: "io.l5d.inMemory", namespaces: { default: DTAB } }, namers: [{ kind: "io.l5d.fs", rootDir: disco }] });
    const w = watcher(["bind", "default", "/svc/users", "--watch"], other.url);
    try {
      await w.waitFor("127.0.0.1:8001");
      await other.stop("SIGTERM");
      expect(await exitOf(w)).toBe(1);
      expect(w.output).toContain(`namerctl: the namer at ${other.url}/ ended the watch (is it shutting down or restarting?)\n`);
    } finally {
      await w.stop("SIGKILL");
      await other.stop("SIGKILL");
    }
  });
});

describe("namerctl resolve", () => {
  it("prints one address a line with its meta, and namerd's address JSON with --json", async () => {
    expect(ok(await ctl(["resolve", "default", "/svc/users"])).stdout).toBe("127.0.0.1:8001\n127.0.0.1:8002  weight=3\n");
    const json = JSON.parse(ok(await ctl(["resolve", "default", "/svc/users", "--json"])).stdout) as unknown;
    expect(json).toEqual({
      type: "bound",
      addrs: [
        { ip: "127.0.0.1", port: 8001, meta: {} },
        { ip: "127.0.0.1", port: 8002, meta: { weight: 3 } },
      ],
      meta: {},
    });
  });

  it("says neg in words for a path that binds to nothing (exit 0)", async () => {
    const r = await ctl(["resolve", "default", "/nothing/here"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("no addresses: the path does not bind to anything (neg)\n");
  });

  it("--watch --json follows the address set as the file changes", async () => {
    service("payments", "127.0.0.1 5001\n");
    const w = watcher(["resolve", "default", "/svc/payments", "--watch", "--json"]);
    try {
      await w.waitFor("5001");
      service("payments", "127.0.0.1 5001 * 4\n");
      await w.waitFor('"weight":4');
      expect(await w.stop("SIGINT")).toBe(0);
      const docs = w.output.trimEnd().split("\n").map((l) => JSON.parse(l) as { addrs: { meta: Record<string, unknown> }[] });
      expect(docs[0]?.addrs[0]?.meta).toEqual({});
      expect(docs.at(-1)?.addrs[0]?.meta).toEqual({ weight: 4 });
    } finally {
      await w.stop("SIGKILL");
    }
  });
});

describe("namerctl delegate", () => {
  it("draws the explanation with formatDelegateTree, every branch expanded, address meta included", async () => {
    const json = JSON.parse(ok(await ctl(["delegate", "default", "/svc/split", "--json"])).stdout) as DelegateJson;
    const text = ok(await ctl(["delegate", "default", "/svc/split"])).stdout;
    expect(text).toBe(formatDelegateTree(json) + "\n");
    expect(text.split("\n")).toEqual([
      "/svc/split  (alternates: the first that binds wins)",
      "├─ /svc/split  via /svc/split=>9.00*/srv/users & /srv/users-v2  (union: balanced by weight)",
      "│  ├─ 9 × /srv/users  via /svc/split=>9.00*/srv/users & /srv/users-v2",
      "│  │  └─ /#/io.l5d.fs/users  via /srv=>/#/io.l5d.fs  ⇒ bound /#/io.l5d.fs/users: 127.0.0.1:8001, 127.0.0.1:8002 (weight=3)",
      "│  └─ 1 × /srv/users-v2  via /svc/split=>9.00*/srv/users & /srv/users-v2",
      "│     └─ /#/io.l5d.fs/users-v2  via /srv=>/#/io.l5d.fs  ⇒ bound /#/io.l5d.fs/users-v2: 127.0.0.1:9001",
      "└─ /srv/split  via /svc=>/srv",
      "   └─ /#/io.l5d.fs/split  via /srv=>/#/io.l5d.fs  ✗ no binding (neg)",
      "",
    ]);
  });

  it("explains through --dtab alone with namespace -", async () => {
    const r = ok(await ctl(["delegate", "-", "/x/users-v2", "--dtab", "/x=>/#/io.l5d.fs"]));
    expect(r.stdout).toBe("/x/users-v2\n└─ /#/io.l5d.fs/users-v2  via /x=>/#/io.l5d.fs  ⇒ bound /#/io.l5d.fs/users-v2: 127.0.0.1:9001\n");
  });

  it("fails with the namer's offset message for a bad path (exit 1)", async () => {
    const r = await ctl(["delegate", "default", "svc/users"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("namerctl: delegate svc/users in default: Invalid path: expected '/' but found 's' at offset 0");
    expect(r.stderr).toContain("[NAMER_ERR_INVALID_PATH]\n  svc/users\n  ^\n");
  });
});

describe("namerctl watches and their readers", () => {
  it("ends quietly (exit 0) when the reader of a watch goes away", async () => {
    service("quiet", "127.0.0.1 4001\n");
    const child = spawn(process.execPath, [NAMERCTL, "bind", "default", "/svc/quiet", "--watch"], { env: { ...process.env, ...env(namer.url) }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = once(child, "exit");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    try {
      await once(child.stdout, "data");
      child.stdout.destroy();
      // The next rendering has nobody to go to.
      service("quiet", "127.0.0.1 4002\n");
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
      expect(stderr).toBe("");
    } finally {
      clearTimeout(timer);
      child.kill("SIGKILL");
    }
  });
});
