#!/usr/bin/env node
// `namerctl`: the operators' CLI for the namer's dtabs and names.
import { run } from "./check-node.js";
await run("namerctl", "../dist/cli/namerctl.js");
