// The `namerctl` process: runs the namer CLI (namer/ctl) on this process's
// arguments and exits with its code.
import { main } from "../namer/ctl/index.ts";
import { packageVersion } from "./version.ts";

process.exitCode = await main(process.argv.slice(2), { version: packageVersion() });
