// The package version for --version, read from package.json wherever the
// code runs from (the source tree or the built dist/ tree).
import { readFileSync } from "node:fs";

export function packageVersion(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "meshd" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // Not at this level; try the next one up.
    }
  }
  return "unknown";
}
