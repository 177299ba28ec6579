#!/usr/bin/env -S node --max-semi-space-size=8
// `meshd`: run a router or a namer, validate configs, try dtabs offline.
// The flag caps V8's young generation at 2 × 8 MiB: left alone, a busy
// router grows it to 128 MiB of resident memory for no measurable gain
// (see bench/proxy). `node bin/meshd.js` runs without it.
import { run } from "./check-node.js";
await run("meshd", "../dist/cli/meshd.js");
