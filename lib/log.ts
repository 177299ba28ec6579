// Structured logging for every meshd process: one JSON object per line on
// stdout (pino), with secrets redacted wherever they could appear.
import { pino, type Logger as PinoLogger } from "pino";

/** The logger components take: pino's (fastify accepts it as is); tests pass `silentLogger`. */
export type Logger = PinoLogger;

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** Paths that may hold credentials; their values never reach the log. */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "*.password",
  "*.token",
  "*.writeTokens",
  "password",
  "token",
];

export function createLogger(options: { level?: LogLevel; name?: string } = {}): PinoLogger {
  return pino({
    level: options.level ?? "info",
    ...(options.name === undefined ? {} : { name: options.name }),
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = pino({ level: "silent" });
