// The Redis connection plumbing the dtab store and the service registry share:
// where Redis is (URL or Sentinel), how a connection behaves (fail fast, no
// resends, our own resubscribe), and how a command is timed out and its
// failure turned into a NamerError that names Redis without its credentials.

import { Redis, type RedisOptions } from "ioredis";
import { errorText, NamerError } from "../errors.ts";

/** Where Redis is and how to log in: the fields both the dtab store and the registry take. */
export interface RedisConnectionOptions {
  /** redis://[user:password@]host:port[/db] (default redis://127.0.0.1:6379); ignored when `sentinels` is given. */
  readonly url?: string | undefined;
  /** Sentinels to ask for the current master (HA); needs `name`. */
  readonly sentinels?: readonly { readonly host: string; readonly port: number }[] | undefined;
  /** The master's name as the sentinels know it. */
  readonly name?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly db?: number | undefined;
}

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;

/** Opens connections to one Redis; `address` names it for messages and logs, without credentials. */
export interface RedisConnector {
  readonly address: string;
  /** A new connection that connects when told to (`connect()`) and reconnects on its own. */
  connect(extra: Pick<RedisOptions, "scripts" | "connectionName">): Redis;
}

/**
 * Checks the options (sentinels need `name`; a URL must parse, and is never
 * echoed since it may hold a password) and returns the connector.
 */
export function redisConnector(options: RedisConnectionOptions, connectTimeoutMs: number): RedisConnector {
  const url = options.url ?? DEFAULT_REDIS_URL;
  const sentinels = options.sentinels !== undefined && options.sentinels.length > 0 ? options.sentinels : undefined;
  if (sentinels !== undefined && options.name === undefined) {
    throw new RangeError("Redis sentinels need `name`, the master's name as the sentinels know it");
  }
  const address = describeRedis(url, sentinels, options.name);
  const common = {
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing, and never resend a
    // write after a reconnect: its outcome is unknown, the caller decides
    // (a dtab writer, or a heartbeat that comes again).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The owner resubscribes itself, so its read always follows the subscription.
    autoResubscribe: false,
    connectTimeout: connectTimeoutMs,
    retryStrategy: reconnectDelay,
    username: options.username,
    password: options.password,
    db: options.db,
  } satisfies RedisOptions;
  return {
    address,
    connect: (extra) =>
      sentinels !== undefined
        ? new Redis({ ...common, ...extra, sentinels: sentinels.map((s) => ({ host: s.host, port: s.port })), name: options.name ?? "" })
        : new Redis(url, { ...common, ...extra }),
  };
}

/** Reconnect backoff: 50 ms doubling to 2 s, with jitter so replicas do not reconnect in lockstep. */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), 2000) + Math.floor(Math.random() * 50);
}

/** The Redis address for messages and logs, without credentials. */
function describeRedis(url: string, sentinels: RedisConnectionOptions["sentinels"], name: string | undefined): string {
  if (sentinels !== undefined) {
    return `master "${name}" via sentinels ${sentinels.map((s) => `${s.host}:${s.port}`).join(",")}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Do not echo the URL: it may hold a password.
    throw new RangeError("the Redis url is not a valid URL (expected redis://host:port)");
  }
  parsed.username = "";
  parsed.password = "";
  return parsed.href;
}

/** Quits politely when connected (at most `timeoutMs`), then disconnects for sure. */
export async function quit(connection: Redis, timeoutMs: number): Promise<void> {
  if (connection.status === "ready") {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([connection.quit(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    } catch {
      // Closed under us: disconnect below makes sure.
    } finally {
      clearTimeout(timer);
    }
  }
  connection.disconnect();
}

/** One command to run by runCommand(). */
export interface RedisCommand<T> {
  /** What the caller was doing, for the message: "cannot <what>: …". */
  readonly what: string;
  readonly run: () => Promise<T>;
  readonly timeoutMs: number;
  /** Appended to the timeout's reason, e.g. "; the write may or may not have been applied". */
  readonly onTimeout?: string | undefined;
}

/**
 * Runs a command on a connection: fails fast with STORE_UNAVAILABLE while it
 * is not ready (with the last connection error, `lastError`), and when no
 * answer comes within the command's time; other failures as redisFailure().
 */
export async function runCommand<T>(connection: Redis, address: string, lastError: string | undefined, command: RedisCommand<T>): Promise<T> {
  const { what, timeoutMs } = command;
  if (connection.status !== "ready") {
    throw redisUnavailable(address, what, lastError === undefined ? "not connected" : `not connected: ${lastError}`);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(redisUnavailable(address, what, `no answer within ${timeoutMs} ms${command.onTimeout ?? ""}`)), timeoutMs);
  });
  try {
    return await Promise.race([command.run(), timeout]);
  } catch (e) {
    throw redisFailure(address, what, e);
  } finally {
    clearTimeout(timer);
  }
}

/** Reply errors that mean "this Redis cannot take the command now" rather than a bug. */
const UNAVAILABLE_REPLY = /^(READONLY|LOADING|MASTERDOWN|BUSY|NOREPLICAS|CLUSTERDOWN|TRYAGAIN|NOAUTH|WRONGPASS|MISCONF|OOM)\b/;

export function redisUnavailable(address: string, what: string, reason: string, cause?: unknown): NamerError {
  return new NamerError("NAMER_ERR_STORE_UNAVAILABLE", `cannot ${what}: Redis at ${address} is unavailable (${reason})`, {
    cause,
    details: { redis: address },
  });
}

/** A failed command as a NamerError: INTERNAL when Redis refused it (a bug), STORE_UNAVAILABLE otherwise. */
export function redisFailure(address: string, what: string, e: unknown): NamerError {
  if (e instanceof NamerError) return e;
  const message = errorText(e);
  if (e instanceof Error && e.name === "ReplyError" && !UNAVAILABLE_REPLY.test(message)) {
    return new NamerError("NAMER_ERR_INTERNAL", `cannot ${what}: Redis at ${address} refused it: ${message}`, { cause: e });
  }
  return redisUnavailable(address, what, message, e);
}

/** Every key under `prefix` that is `head` + a name + `tail` (SCAN; neither store keeps an index key), as key and name. */
export async function scanNames(
  scan: (cursor: string, pattern: string) => Promise<[cursor: string, keys: string[]]>,
  prefix: string,
  head: string,
  tail: string,
): Promise<{ key: string; name: string }[]> {
  const pattern = `${globEscape(prefix)}${globEscape(head)}*${globEscape(tail)}`;
  const start = `${prefix}${head}`;
  const keys = new Set<string>();
  let cursor = "0";
  do {
    const [next, batch] = await scan(cursor, pattern);
    cursor = next;
    for (const key of batch) keys.add(key);
  } while (cursor !== "0");
  return [...keys]
    .filter((key) => key.startsWith(start) && key.endsWith(tail) && key.length > start.length + tail.length)
    .map((key) => ({ key, name: key.slice(start.length, -tail.length) }));
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, "\\$&");
}
