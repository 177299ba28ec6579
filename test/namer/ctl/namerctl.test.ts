// namerctl end to end: every verb run as a real process against a real
// `meshd namer` process, over real sockets, with a scripted $EDITOR for the
// edit loop and a token-guarded namer for the auth flow.
import { once } from "node:events";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNamerProcess, type NamerProcess } from "../../support/namer.ts";
import { NAMERCTL, runCli, type RunResult } from "../../support/process.ts";
import { freePort } from "../../support/redis.ts";

const BASE = "/srv => /#/io.l5d.fs;\n/svc => /srv;\n";
const CANARY = "/srv => /#/io.l5d.fs;\n/svc/users => 1 * /srv/users-v2 & 9 * /srv/users;\n/svc => /srv;\n";

let namer: NamerProcess;
let dir: string;

/** Runs namerctl against the shared namer, with no token or base URL leaking in from the environment. */
function ctl(args: readonly string[], options: { input?: string; env?: Record<string, string | undefined> } = {}): Promise<RunResult> {
  return runCli(NAMERCTL, args, {
    ...(options.input === undefined ? {} : { input: options.input }),
    env: { NAMERCTL_BASE_URL: namer.url, NAMERCTL_TOKEN: undefined, EDITOR: undefined, VISUAL: undefined, NO_COLOR: "1", USER: "alice", ...options.env },
  });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The namespace as the namer has it, read over HTTP without namerctl. */
async function server(ns: string): Promise<{ status: number; version: string | null; text: string }> {
  const r = await fetch(`${namer.url}/api/1/dtabs/${ns}`, { headers: { accept: "application/dtab" } });
  return { status: r.status, version: r.headers.get("etag"), text: (await r.text()).trim() };
}

async function create(ns: string, text = BASE): Promise<void> {
  const r = await fetch(`${namer.url}/api/1/dtabs/${ns}`, { method: "POST", headers: { "content-type": "application/dtab" }, body: text });
  expect(r.status).toBe(204);
}

function ok(r: RunResult): RunResult {
  expect(r.stderr, r.stdout).toBe("");
  expect(r.code).toBe(0);
  return r;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "namerctl-test-"));
  namer = await startNamerProcess();
});

afterAll(async () => {
  await namer?.stop();
});

describe("namerctl dtab list and get", () => {
  it("lists namespaces as lines and as JSON", async () => {
    await create("list-a");
    await create("list-b");
    const text = ok(await ctl(["dtab", "list"]));
    expect(text.stdout.split("\n")).toEqual(expect.arrayContaining(["list-a", "list-b"]));
    const json = ok(await ctl(["dtab", "ls", "--json"]));
    const names = JSON.parse(json.stdout) as string[];
    expect(names).toEqual(expect.arrayContaining(["list-a", "list-b"]));
  });

  it("prints the version and the dtab aligned, and the same as JSON", async () => {
    await create("get-1", "/srv => /#/io.l5d.fs;\n/svc/users => /srv/users;\n");
    const text = ok(await ctl(["dtab", "get", "get-1"]));
    expect(text.stdout).toBe("# version 1\n/srv       => /#/io.l5d.fs ;\n/svc/users => /srv/users ;\n");
    const json = ok(await ctl(["dtab", "cat", "get-1", "--json"]));
    expect(JSON.parse(json.stdout)).toEqual({
      namespace: "get-1",
      version: "1",
      dtab: [
        { prefix: "/srv", dst: "/#/io.l5d.fs" },
        { prefix: "/svc/users", dst: "/srv/users" },
      ],
    });
  });

  it("fails with exit 1 and the namer's code for a namespace that does not exist", async () => {
    const r = await ctl(["dtab", "get", "no-such-ns"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^namerctl: get no-such-ns: not found: namespace no-such-ns does not exist \[NAMER_ERR_NOT_FOUND\]/);
  });
});

describe("namerctl dtab create", () => {
  it("creates from a text file", async () => {
    const r = ok(await ctl(["dtab", "create", "create-file", file("create.dtab", BASE)]));
    expect(r.stdout).toBe("created create-file at version 1 (2 dentries)\n");
    expect(await server("create-file")).toMatchObject({ status: 200, version: "1", text: "/srv=>/#/io.l5d.fs;/svc=>/srv" });
  });

  it("creates from standard input, and from the JSON that get --json writes", async () => {
    ok(await ctl(["dtab", "create", "create-stdin", "-"], { input: "/svc => /srv/stdin;\n" }));
    expect((await server("create-stdin")).text).toBe("/svc=>/srv/stdin");
    const json = ok(await ctl(["dtab", "get", "create-stdin", "--json"])).stdout;
    ok(await ctl(["dtab", "new", "create-json", "-"], { input: json }));
    expect((await server("create-json")).text).toBe("/svc=>/srv/stdin");
  });

  it("refuses to overwrite an existing namespace (exit 1, the namer's message)", async () => {
    await create("create-exists");
    const r = await ctl(["dtab", "create", "create-exists", file("exists.dtab", CANARY)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("already exists");
    expect(r.stderr).toContain("[NAMER_ERR_EXISTS]");
    expect((await server("create-exists")).version).toBe("1");
  });

  it("names file:line:column for a parse error and writes nothing", async () => {
    const bad = file("bad.dtab", "# a comment\n/srv => /#/io.l5d.fs;\n/svc =>> /srv;\n");
    const r = await ctl(["dtab", "create", "parse-error", bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`namerctl: ${bad}:3:8: expected a name tree`);
    expect(r.stderr).toContain("/svc =>> /srv;\n         ^");
    expect((await server("parse-error")).status).toBe(404);
  });
});

describe("namerctl dtab update", () => {
  it("compares against the version it reads just before when neither --version nor the file gives one", async () => {
    await create("update-read");
    const r = ok(await ctl(["dtab", "update", "update-read", file("update.dtab", CANARY)]));
    expect(r.stdout).toBe("updated update-read: version 1 → 2\n");
    expect(await server("update-read")).toMatchObject({ version: "2", text: "/srv=>/#/io.l5d.fs;/svc/users=>/srv/users-v2 & 9.00*/srv/users;/svc=>/srv" });
  });

  it("fails with a conflict (exit 1) for a stale --version and leaves the namespace alone", async () => {
    await create("update-stale");
    ok(await ctl(["dtab", "up", "update-stale", file("stale-1.dtab", CANARY)]));
    const r = await ctl(["dtab", "update", "update-stale", file("stale-2.dtab", BASE), "--version", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^namerctl: update update-stale: conflict: .*\[NAMER_ERR_VERSION_MISMATCH\]/);
    expect(r.stderr).toContain("update-stale is no longer at version 1 (the version given with --version): it is now at version 2; nothing was written");
    expect(await server("update-stale")).toMatchObject({ version: "2" });
  });

  it("uses the version inside a get --json file, so a stale file conflicts", async () => {
    await create("update-json");
    const snapshot = ok(await ctl(["dtab", "get", "update-json", "--json"])).stdout;
    const edited = JSON.stringify({ ...(JSON.parse(snapshot) as object), dtab: [{ prefix: "/svc", dst: "/srv/v2" }] });
    ok(await ctl(["dtab", "update", "update-json", "-"], { input: edited }));
    expect(await server("update-json")).toMatchObject({ version: "2", text: "/svc=>/srv/v2" });
    const again = await ctl(["dtab", "update", "update-json", "-"], { input: edited });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("no longer at version 1 (the version found in the file)");
  });
});

describe("namerctl dtab apply", () => {
  it("creates a missing namespace", async () => {
    const r = ok(await ctl(["dtab", "apply", "apply-1", file("apply-base.dtab", BASE)]));
    expect(r.stdout).toContain("+/srv => /#/io.l5d.fs;\n+/svc => /srv;\n");
    expect(r.stdout).toContain("created apply-1 at version 1 (2 dentries added)");
    expect((await server("apply-1")).version).toBe("1");
  });

  it("updates with a dentry-level diff, then does nothing when the file matches", async () => {
    await create("apply-2");
    const canary = file("apply-canary.dtab", CANARY);
    const r = ok(await ctl(["dtab", "apply", "apply-2", canary]));
    expect(r.stdout).toBe(
      [
        "--- apply-2 version 1",
        `+++ ${canary}`,
        "@@ -1,2 +1,3 @@",
        " /srv => /#/io.l5d.fs;",
        "+/svc/users => /srv/users-v2 & 9.00*/srv/users;",
        " /svc => /srv;",
        "updated apply-2: version 1 → 2 (1 dentry added)",
        "",
      ].join("\n"),
    );
    // Spacing and comments differ but the dentries are the same: no write, no new version.
    const same = file("apply-same.dtab", "# reformatted\n/srv=>/#/io.l5d.fs;  /svc/users => /srv/users-v2 & 9*/srv/users;\n/svc=>/srv\n");
    const again = ok(await ctl(["dtab", "apply", "apply-2", same]));
    expect(again.stdout).toBe("apply-2 unchanged at version 2: nothing written\n");
    expect((await server("apply-2")).version).toBe("2");
    const json = ok(await ctl(["dtab", "apply", "apply-2", same, "--json"]));
    expect(JSON.parse(json.stdout)).toEqual({ namespace: "apply-2", result: "unchanged", version: "2", previousVersion: "2", changes: [] });
  });
});

describe("namerctl dtab edit", () => {
  /** An $EDITOR: a node script whose behaviour per round comes from `rounds`; it records what it was shown. */
  function editor(name: string, rounds: string): { env: Record<string, string>; seen: (round: number) => string; rounds: () => number } {
    const edDir = mkdtempSync(join(dir, `editor-${name}-`));
    const script = join(edDir, "editor.mjs");
    writeFileSync(
      script,
      `import { existsSync, readFileSync, writeFileSync } from "node:fs";
const file = process.argv[2];
const counter = ${JSON.stringify(join(edDir, "round"))};
const round = existsSync(counter) ? Number(readFileSync(counter, "utf8")) + 1 : 1;
writeFileSync(counter, String(round));
const text = readFileSync(file, "utf8");
writeFileSync(${JSON.stringify(edDir)} + "/seen-" + round, text);
const namerUrl = process.env.NAMER_URL;
${rounds}
`,
    );
    return {
      env: { EDITOR: `"${process.execPath}" "${script}"`, NAMER_URL: namer.url },
      seen: (round) => readFileSync(join(edDir, `seen-${round}`), "utf8"),
      rounds: () => readdirSync(edDir).filter((f) => f.startsWith("seen-")).length,
    };
  }

  it("writes the edited dtab back with If-Match", async () => {
    await create("edit-1");
    const ed = editor("simple", `writeFileSync(file, text.replace("/svc => /srv ;", "/svc => /srv/v2 ;"));`);
    const r = ok(await ctl(["dtab", "edit", "edit-1"], { env: ed.env }));
    expect(r.stdout).toBe("updated edit-1: version 1 → 2 (1 dentry added, 1 removed)\n");
    expect(ed.seen(1)).toContain("# version 1\n");
    expect(ed.seen(1)).toContain("/srv => /#/io.l5d.fs ;\n/svc => /srv ;\n");
    expect(await server("edit-1")).toMatchObject({ version: "2", text: "/srv=>/#/io.l5d.fs;/svc=>/srv/v2" });
  });

  it("aborts without writing when nothing changed", async () => {
    await create("edit-same");
    const ed = editor("noop", "");
    const r = ok(await ctl(["dtab", "edit", "edit-same"], { env: ed.env }));
    expect(r.stdout).toBe("edit cancelled: no changes (edit-same is at version 1)\n");
    expect(ed.rounds()).toBe(1);
    expect((await server("edit-same")).version).toBe("1");
  });

  it("on a conflict shows the other change and reopens on the operator's text against the new version", async () => {
    await create("edit-race");
    const ed = editor(
      "race",
      `if (round === 1) {
  // Someone else writes while the operator is in the editor.
  const url = namerUrl + "/api/1/dtabs/edit-race";
  const r = await fetch(url, { method: "PUT", headers: { "if-match": "1", "content-type": "application/dtab" }, body: "/srv=>/#/io.l5d.fs;/svc=>/srv;/other=>/srv/other" });
  if (r.status !== 204) throw new Error("concurrent write failed: " + r.status);
  writeFileSync(file, text.replace("/svc => /srv ;", "/svc => /srv ;\\n/svc/users => /srv/users-v2 ;"));
} else if (round === 2) {
  // The operator folds the other change into theirs and saves.
  writeFileSync(file, text + "/other => /srv/other ;\\n");
}`,
    );
    const r = await ctl(["dtab", "edit", "edit-race"], { env: ed.env });
    expect(r.code).toBe(0);
    expect(ed.rounds()).toBe(2);
    expect(r.stderr).toContain("edit-race changed on the namer while you were editing (version 1 → 2); the other change:");
    expect(r.stderr).toContain("--- edit-race version 1 (what you edited)\n+++ edit-race version 2 (on the namer now)");
    expect(r.stderr).toContain("+/other => /srv/other;");
    // The second round opens on the operator's text, against version 2, with the other change in the notes.
    expect(ed.seen(2)).toContain("# version 2\n");
    expect(ed.seen(2)).toContain("#   +/other => /srv/other;");
    expect(ed.seen(2)).toContain("/svc/users => /srv/users-v2 ;");
    // Counted against version 2, which already has the other change: only the operator's dentry is new.
    expect(r.stdout).toBe("updated edit-race: version 2 → 3 (1 dentry added)\n");
    expect(await server("edit-race")).toMatchObject({ version: "3", text: "/srv=>/#/io.l5d.fs;/svc=>/srv;/svc/users=>/srv/users-v2;/other=>/srv/other" });
  });

  it("reopens with the parse error on top when the saved dtab does not parse", async () => {
    await create("edit-typo");
    const ed = editor(
      "typo",
      `if (round === 1) writeFileSync(file, text.replace("/svc => /srv ;", "/svc =>> /srv/v2 ;"));
else if (round === 2) writeFileSync(file, text.replace(new RegExp("^/svc =>> ", "m"), "/svc => "));`,
    );
    const r = await ctl(["dtab", "edit", "edit-typo"], { env: ed.env });
    expect(r.code).toBe(0);
    const second = ed.seen(2);
    const errorLine = /^# error: line (\d+), column (\d+): expected a name tree/m.exec(second);
    expect(errorLine).not.toBeNull();
    // The error points at the offending line of the file the editor now shows.
    expect(second.split("\n")[Number(errorLine?.[1]) - 1]).toBe("/svc =>> /srv/v2 ;");
    expect(errorLine?.[2]).toBe("8");
    expect(r.stderr).toContain("reopening the editor");
    expect(ed.rounds()).toBe(2);
    expect(await server("edit-typo")).toMatchObject({ version: "2", text: "/srv=>/#/io.l5d.fs;/svc=>/srv/v2" });
  });
});

describe("namerctl dtab delete, history, rollback, diff", () => {
  it("deletes with the version it read, and with an explicit --version", async () => {
    await create("delete-1");
    const r = ok(await ctl(["dtab", "delete", "delete-1"]));
    expect(r.stdout).toContain("deleted delete-1 (it was at version 1;");
    expect((await server("delete-1")).status).toBe(404);

    await create("delete-2");
    const stale = await ctl(["dtab", "rm", "delete-2", "--version", "7"]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("conflict");
    expect((await server("delete-2")).status).toBe(200);
    ok(await ctl(["dtab", "rm", "delete-2", "--version", "1"]));
    expect((await server("delete-2")).status).toBe(404);
  });

  it("shows history as a table and as JSON, naming the operator", async () => {
    await create("history-1");
    ok(await ctl(["dtab", "update", "history-1", file("history.dtab", CANARY)]));
    const text = ok(await ctl(["dtab", "history", "history-1"])).stdout.split("\n");
    expect(text[0]).toMatch(/^VERSION\s+ACTION\s+WHEN\s+WHO\s+FROM$/);
    expect(text[1]).toMatch(/^2\s+update\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+local:alice\s+127\.0\.0\.1$/);
    expect(text[2]).toMatch(/^1\s+create\s+/);
    const json = JSON.parse(ok(await ctl(["dtab", "history", "history-1", "--json", "--limit", "1"])).stdout) as Array<Record<string, unknown>>;
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ version: "2", action: "update", actor: "local:alice", previousVersion: "1" });
  });

  it("rolls back to an earlier version with If-Match, printing what changed", async () => {
    await create("rollback-1");
    ok(await ctl(["dtab", "update", "rollback-1", file("rollback.dtab", CANARY)]));
    const r = ok(await ctl(["dtab", "rollback", "rollback-1", "1"]));
    expect(r.stdout).toContain("-/svc/users => /srv/users-v2 & 9.00*/srv/users;");
    expect(r.stdout).toContain("rolled back rollback-1 to the dtab of version 1: version 2 → version 3");
    expect(await server("rollback-1")).toMatchObject({ version: "3", text: "/srv=>/#/io.l5d.fs;/svc=>/srv" });
    const history = JSON.parse(ok(await ctl(["dtab", "history", "rollback-1", "--json"])).stdout) as Array<Record<string, unknown>>;
    expect(history[0]).toMatchObject({ version: "3", action: "rollback", restoredVersion: "1" });
    const unknown = await ctl(["dtab", "rollback", "rollback-1", "99"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("[NAMER_ERR_VERSION_UNKNOWN]");
  });

  it("diffs a file against the namespace, exiting 0 either way", async () => {
    await create("diff-1");
    const same = ok(await ctl(["dtab", "diff", "diff-1", file("diff-same.dtab", "/srv=>/#/io.l5d.fs;/svc=>/srv")]));
    expect(same.stdout).toBe("no differences (diff-1 version 1)\n");
    const other = file("diff-other.dtab", "/srv => /#/io.l5d.fs;\n/svc => /srv/v2;\n");
    const changed = ok(await ctl(["dtab", "diff", "diff-1", other]));
    expect(changed.stdout).toContain("-/svc => /srv;\n+/svc => /srv/v2;\n");
    expect(changed.stdout).toContain("1 dentry added, 1 removed");
    const json = JSON.parse(ok(await ctl(["dtab", "diff", "diff-1", other, "--json"])).stdout) as unknown;
    expect(json).toEqual({
      namespace: "diff-1",
      version: "1",
      equal: false,
      changes: [
        { op: "removed", index: 1, prefix: "/svc", dst: "/srv" },
        { op: "added", index: 1, prefix: "/svc", dst: "/srv/v2" },
      ],
    });
    expect((await server("diff-1")).version).toBe("1");
  });
});

describe("namerctl failures", () => {
  it("names the URL when the namer is unreachable (exit 1)", async () => {
    const port = await freePort();
    const r = await runCli(NAMERCTL, ["dtab", "list"], { env: { NAMERCTL_BASE_URL: `http://127.0.0.1:${port}` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`namerctl: cannot reach the namer at http://127.0.0.1:${port}/: connection refused (is the namer running? set --namer or NAMERCTL_BASE_URL)\n`);
    const flag = await runCli(NAMERCTL, ["--namer", `http://127.0.0.1:${port}/prefix`, "dtab", "get", "x"]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain(`http://127.0.0.1:${port}/prefix`);
  });

  it("gives up on a namer that accepts the connection but never answers (--timeout)", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => void sockets.push(s)).listen(0, "127.0.0.1");
    await once(silent, "listening");
    const { port } = silent.address() as AddressInfo;
    try {
      const started = Date.now();
      const r = await runCli(NAMERCTL, ["dtab", "get", "x", "--timeout", "300ms"], { env: { NAMERCTL_BASE_URL: `http://127.0.0.1:${port}` } });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`namerctl: cannot reach the namer at http://127.0.0.1:${port}/: no answer within 300 ms (set --timeout to wait longer)\n`);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it("exits 2 for usage errors", async () => {
    for (const args of [["dtab", "frobnicate"], ["dtab", "get"], ["dtab", "update", "x", "f", "--version", "latest"], ["--namer", "ftp://x", "dtab", "ls"], []]) {
      const r = await ctl(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      if (args.length > 0) expect(r.stderr).toMatch(/^namerctl: /);
    }
  });
});

describe("namerctl with write tokens", () => {
  let guarded: NamerProcess;
  const SECRET = "s3cret";

  beforeAll(async () => {
    guarded = await startNamerProcess({ iface: { writeTokens: [SECRET] } });
  });

  afterAll(async () => {
    await guarded?.stop();
  });

  const run = (args: readonly string[], env: Record<string, string | undefined> = {}): Promise<RunResult> =>
    runCli(NAMERCTL, args, { input: BASE, env: { NAMERCTL_BASE_URL: guarded.url, NAMERCTL_TOKEN: undefined, USER: "bob", ...env } });

  it("refuses writes without a token and accepts them with --token or NAMERCTL_TOKEN, never showing the token", async () => {
    const results: RunResult[] = [];
    const none = await run(["dtab", "create", "guarded", "-"]);
    results.push(none);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("create guarded: unauthorized:");
    expect(none.stderr).toContain("[NAMER_ERR_UNAUTHORIZED]");

    const wrong = await run(["dtab", "create", "guarded", "-", "--token", "not-the-token"]);
    results.push(wrong);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("unauthorized");
    expect(wrong.stderr).not.toContain("not-the-token");

    const flag = await run(["--token", SECRET, "dtab", "create", "guarded", "-"]);
    results.push(flag);
    expect(flag.code).toBe(0);
    const env = await run(["dtab", "update", "guarded", file("guarded.dtab", CANARY)], { NAMERCTL_TOKEN: SECRET });
    results.push(env);
    expect(env.code).toBe(0);
    expect(env.stdout).toBe("updated guarded: version 1 → 2\n");

    // Reads need no token; the history names the token and the operator, never the secret.
    const history = await run(["dtab", "history", "guarded", "--json"]);
    results.push(history);
    expect(history.code).toBe(0);
    expect((JSON.parse(history.stdout) as Array<{ actor: string }>).map((e) => e.actor)).toEqual(["token-1:bob", "token-1:bob"]);
    for (const r of results) {
      expect(r.stdout).not.toContain(SECRET);
      expect(r.stderr).not.toContain(SECRET);
    }
  });
});
