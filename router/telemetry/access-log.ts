// The access log: one JSON line per request, written by pino's asynchronous
// destination (to stdout or a file), so a slow disk never holds a request.
// Query values that look like credentials are replaced before they are
// written; headers are never logged.
import { pino, type Logger as PinoLogger } from "pino";
import type { AccessLogConfig } from "./config.ts";

export interface AccessRecord {
  readonly rt: string;
  readonly method: string;
  readonly host: string;
  readonly path: string;
  /** The logical name (l5d-dst-service), when the request got that far. */
  readonly service: string | undefined;
  /** The bound name of the last attempt's client, when there was one. */
  readonly client: string | undefined;
  readonly status: number;
  readonly durationMs: number;
  readonly reqid: string | undefined;
  readonly retries: number;
  readonly server: string;
  readonly traceId?: string | undefined;
}

/** Query parameters whose values never reach the log. */
const SECRET_PARAM = /token|secret|passw|pwd|auth|key|signature|session|credential|code/i;

/** The request target with credential-looking query values replaced by [redacted]. */
export function redactTarget(target: string): string {
  const q = target.indexOf("?");
  if (q < 0) return target;
  const params = target
    .slice(q + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // A malformed escape: judge the raw name.
      }
      return eq >= 0 && SECRET_PARAM.test(decoded) ? `${name}=[redacted]` : pair;
    });
  return `${target.slice(0, q)}?${params.join("&")}`;
}

export class AccessLog {
  readonly #out: PinoLogger;
  readonly #destination: ReturnType<typeof pino.destination>;
  readonly #file: string | undefined;

  constructor(config: AccessLogConfig) {
    this.#file = config.path;
    // Asynchronous: writes issued while one is in flight are coalesced into the next.
    this.#destination = pino.destination({ dest: config.path ?? 1, sync: false, mkdir: true });
    this.#out = pino({ base: { log: "access" }, timestamp: pino.stdTimeFunctions.isoTime }, this.#destination);
  }

  /** The same config (for reloads: a changed one gets a new AccessLog). */
  get path(): string | undefined {
    return this.#file;
  }

  /** Re-opens the file (after logrotate moved it; done on every SIGHUP reload). */
  reopen(): void {
    if (this.#file !== undefined) this.#destination.reopen();
  }

  write(record: AccessRecord): void {
    this.#out.info({ ...record, path: redactTarget(record.path), durationMs: Math.round(record.durationMs * 1000) / 1000 });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#out.flush(() => resolve());
    });
  }
}
