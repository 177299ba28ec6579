// Before any test: make sure dist/ (what the bins and `meshd/dtab` run) is
// built from the current sources, so tests of the package as users run it
// never test stale JavaScript. CI builds in `npm ci`; this only rebuilds
// when a source file is newer than the build.
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const SOURCES = ["dtab", "namer", "router", "lib", "cli"];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  let built = 0;
  try {
    built = statSync(join(root, "dist/cli/meshd.js")).mtimeMs;
  } catch {
    // Not built yet.
  }
  const newest = Math.max(...SOURCES.map((d) => newestSource(join(root, d))));
  if (newest <= built) return;
  process.stdout.write("dist/ is older than the sources: npm run build\n");
  try {
    execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
  } catch {
    // tsc still writes JavaScript when it finds type errors; `npm run lint` is where those fail.
    process.stdout.write("npm run build reported errors (see above); testing what it wrote\n");
  }
}
