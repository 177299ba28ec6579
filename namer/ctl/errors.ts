// namerctl's exit codes and the failures it reports: each carries the exit
// code it ends the process with, so main() has one place that turns an
// error into a message on stderr and a status.

/** 0 success; 1 the operation failed (conflict, not found, bad input, auth, unreachable, server error); 2 the command line is wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export type ExitCode = typeof EXIT_OK | typeof EXIT_FAILURE | typeof EXIT_USAGE;

/** Any failure namerctl reports itself; the message is shown after "namerctl: ". */
export class CtlError extends Error {
  override readonly name: string = "CtlError";
  readonly exitCode: ExitCode;

  constructor(message: string, options: { exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? EXIT_FAILURE;
  }
}

/** The command line is wrong in a way commander cannot see (a bad --namer URL, a bad --timeout). */
export class UsageError extends CtlError {
  override readonly name = "UsageError";

  constructor(message: string) {
    super(message, { exitCode: EXIT_USAGE });
  }
}

/** A dtab file that cannot be read or parsed; the message names the file (and line:column when known). */
export class InputError extends CtlError {
  override readonly name = "InputError";
}

/** The namer could not be reached or did not answer in time. */
export class UnreachableError extends CtlError {
  override readonly name = "UnreachableError";
  /** The URL that was tried (credentials never appear: namerctl refuses URLs with them). */
  readonly url: string;

  constructor(url: string, reason: string, cause?: unknown) {
    super(`cannot reach the namer at ${url}: ${reason}`, { cause });
    this.url = url;
  }
}

/** What the namer answered with a non-2xx status, from its JSON error body {"error": {"code", "message", …}}. */
export class ApiError extends CtlError {
  override readonly name = "ApiError";
  readonly status: number;
  /** The namer's stable code, e.g. NAMER_ERR_VERSION_MISMATCH; "HTTP_<status>" when the body had none. */
  readonly code: string;
  /** The namer's own message, without namerctl's framing. */
  readonly serverMessage: string;
  /** Extra fields of the error body (offset, current version, …). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(status: number, code: string, serverMessage: string, details: Readonly<Record<string, unknown>> = {}) {
    super(`${serverMessage} [${code}]`);
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
    this.details = details;
  }

  get isConflict(): boolean {
    return this.status === 412;
  }

  get isNotFound(): boolean {
    return this.code === "NAMER_ERR_NOT_FOUND";
  }
}
