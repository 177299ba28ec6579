#!/usr/bin/env -S node --max-semi-space-size=4 --no-maglev
// `meshd`: run a router or a namer, validate configs, try dtabs offline.
// The flags: the first caps V8's young generation at 2 × 4 MiB (left alone,
// a busy router grows it to 128 MiB of resident memory for no measurable
// gain); the second leaves out V8's mid-tier compiler, whose code and
// compile memory cost a router 6–20 MiB at peak for no throughput bench/proxy
// can see (the optimizing compiler still runs). `node bin/meshd.js` runs
// without them.
import { run } from "./check-node.js";
await run("meshd", "../dist/cli/meshd.js");
