#!/usr/bin/env -S node --max-semi-space-size=4 --no-maglev --liftoff-only --v8-pool-size=1 --heap-growing-percent=20
// `meshd`: run a router or a namer, validate configs, try dtabs offline.
// The flags, each measured with bench/proxy (docs/deploy-vms.md has the figures):
// - --max-semi-space-size=4 caps V8's young generation at 2 × 4 MiB (left
//   alone, a busy router grows it to 128 MiB of resident memory for no gain);
// - --no-maglev leaves out V8's mid-tier compiler, whose code and compile
//   memory cost 6–20 MiB at peak (the optimizing compiler still runs);
// - --liftoff-only keeps undici's WebAssembly HTTP parser on V8's baseline
//   compiler: optimizing it takes a 20 MiB burst of compile memory on the
//   third request and keeps 9 MiB, for no throughput the bench can see;
// - --v8-pool-size=1 runs V8's background work (GC helpers, compiles) on one
//   thread rather than four, each of which keeps its own malloc arena;
// - --heap-growing-percent=20 lets the old generation grow 20 % (at least
//   8 MiB) past what the last full GC kept, where V8 would allow up to 4×
//   when much survives: with a backend down, a flood of failing requests
//   took a router to 170–260 MiB, and now to about 115.
// `node bin/meshd.js` runs without them.
import { run } from "./check-node.js";
await run("meshd", "../dist/cli/meshd.js");
