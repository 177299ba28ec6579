// Where the meshd package lives and its version, found from package.json
// wherever the code runs from (the source tree or the built dist/ tree).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface Found {
  readonly root: string;
  readonly version: string;
}

let found: Found | undefined;

function locate(): Found {
  if (found !== undefined) return found;
  for (const rel of ["../", "../../"]) {
    const dir = new URL(rel, import.meta.url);
    try {
      const pkg = JSON.parse(readFileSync(new URL("package.json", dir), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "meshd" && typeof pkg.version === "string") {
        found = { root: fileURLToPath(dir), version: pkg.version };
        return found;
      }
    } catch {
      // Not at this level; try the next one up.
    }
  }
  throw new Error("cannot find meshd's package.json above " + fileURLToPath(import.meta.url));
}

export function packageVersion(): string {
  return locate().version;
}

/** The package's root directory (ends with a slash). */
export function packageRoot(): string {
  return locate().root;
}
