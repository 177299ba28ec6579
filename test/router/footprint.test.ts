// What a router process loads: an ESM import of node:http reads its lazy
// `WebSocket` export, which loads Node's bundled undici (about 3 MB of heap
// and 13 MB resident). lib/node-http.ts takes http through require instead;
// this fails if anything on the router's path imports it the ESM way again.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const main = fileURLToPath(new URL("../../router/main.ts", import.meta.url));

function loadedBuiltins(entry: string): string[] {
  const script = `await import(${JSON.stringify(entry)}); console.log(JSON.stringify(process.moduleLoadList));`;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })) as string[];
}

describe("the router's footprint", () => {
  it("does not load Node's bundled undici (fetch, WebSocket)", () => {
    const loaded = loadedBuiltins(main);
    expect(loaded).toContain("NativeModule http");
    expect(loaded.filter((m) => m.includes("internal/deps/undici"))).toEqual([]);
  });

  it("would load it through an ESM import of node:http (the check can fail)", () => {
    const loaded = loadedBuiltins("node:http");
    expect(loaded.some((m) => m.includes("internal/deps/undici"))).toBe(true);
  });
});
