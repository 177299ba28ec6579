// The process around namerctl (environment, output streams, stdin, the
// operator's interrupt), injectable so the commands can run inside tests.

/** The process around namerctl, injectable so the commands can run inside tests. */
export interface NamerctlIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** All of standard input, for FILE "-". */
  readonly stdin?: () => Promise<string>;
  /** Whether stdout is a terminal that takes colours. */
  readonly color?: boolean;
  /** Opens a file in an editor (default: $VISUAL / $EDITOR / vi through the shell). */
  readonly edit?: (file: string) => Promise<void>;
  /** Shown by --version. */
  readonly version?: string;
  /**
   * A signal aborted when the operator interrupts (SIGINT or SIGTERM). Only
   * the long-running verbs (--watch, --heartbeat) ask for it, so Ctrl-C
   * still ends every other verb the usual way.
   */
  readonly interrupted?: () => AbortSignal;
  /** Milliseconds since the epoch, for watch timestamps and "expires in". */
  readonly now?: () => number;
}

/**
 * Catches the first SIGINT or SIGTERM as an abort, then lets go of both so a
 * second one ends the process at once (a deregistration that hangs can be cut
 * short). Installed on first use only.
 */
function interruptSignal(): () => AbortSignal {
  let controller: AbortController | undefined;
  return () => {
    if (controller !== undefined) return controller.signal;
    const c = new AbortController();
    controller = c;
    const signals = ["SIGINT", "SIGTERM"] as const;
    const onSignal = (signal: NodeJS.Signals): void => {
      for (const s of signals) process.off(s, onSignal);
      c.abort(signal);
    };
    for (const s of signals) process.on(s, onSignal);
    return c.signal;
  };
}

/**
 * A reader that goes away (`namerctl bind … --watch | head -3`) ends namerctl
 * quietly, as it ends `yes`, instead of with an EPIPE stack trace.
 */
function exitQuietlyOnClosedStdout(): void {
  if (process.stdout.listenerCount("error") > 0) return;
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    process.exit(0);
  });
}

export function processIo(): NamerctlIo {
  const env = process.env;
  exitQuietlyOnClosedStdout();
  return {
    env,
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    color: process.stdout.isTTY === true && env["NO_COLOR"] === undefined && env["TERM"] !== "dumb",
    interrupted: interruptSignal(),
    now: () => Date.now(),
  };
}
