// A logger whose records a test can read back (to check that something was
// reported, e.g. a corrupt snapshot ignored).
import { Writable } from "node:stream";
import { pino } from "pino";
import type { Logger } from "../../../../lib/log.ts";

export interface CapturedLog {
  readonly logger: Logger;
  readonly records: { level: number; msg: string; [key: string]: unknown }[];
  /** Messages logged at warn (40) or above. */
  warnings(): string[];
}

export function captureLogger(): CapturedLog {
  const records: CapturedLog["records"] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line !== "") records.push(JSON.parse(line) as CapturedLog["records"][number]);
      done();
    },
  });
  const logger = pino({ level: "debug" }, sink);
  return { logger, records, warnings: () => records.filter((r) => r.level >= 40).map((r) => r.msg) };
}
