#!/usr/bin/env node
// `meshd`: run a router or a namer, validate configs, try dtabs offline.
import { run } from "./check-node.js";
await run("meshd", "../dist/cli/meshd.js");
