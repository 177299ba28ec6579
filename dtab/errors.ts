// The dtab package's error catalogue: every failure it reports is a DtabError
// with a stable code, the HTTP status a server should answer with, and, for
// parse errors, the character offset in the input.

/** Every error code the dtab package raises, with its HTTP status and meaning. */
export const DTAB_ERRORS = {
  DTAB_ERR_SYNTAX: {
    status: 400,
    description: "A path, name tree, dentry or dtab does not follow the grammar; `offset` points at the offending character.",
  },
  DTAB_ERR_INVALID_WEIGHT: {
    status: 400,
    description: "A union weight is not a number (a lone '.', a second '.', or digits that are not ASCII).",
  },
  DTAB_ERR_INVALID_JSON: {
    status: 400,
    description: "A dtab in namerd's JSON form is not a list of {prefix, dst} objects, or one of them does not parse.",
  },
  DTAB_ERR_INVALID_HEADER: {
    status: 400,
    description: "A per-request dtab header (l5d-dtab, l5d-ctx-dtab, dtab-local, x-dtab-*) does not parse.",
  },
  DTAB_ERR_MAX_DEPTH: {
    status: 400,
    description: "Binding went deeper than the recursion limit (100 lookups by default): the dtab most likely loops.",
  },
  DTAB_ERR_TOO_COMPLEX: {
    status: 400,
    description: "Binding or explaining a name took more lookups than its budget (10,000 by default), as a dtab whose unions loop back on themselves does; the whole binding fails rather than hang.",
  },
  DTAB_ERR_NAME_PENDING: {
    status: 503,
    description: "A namer has not answered for a name yet (discovery still loading); binding is pending, not failed.",
  },
  DTAB_ERR_UNKNOWN_NAMER: {
    status: 502,
    description: "A /$/<name> path names a system namer that does not exist (for example /$/inet with no port).",
  },
  DTAB_ERR_NAMER_FAILED: {
    status: 502,
    description: "A configured namer threw while looking a name up; `cause` holds what it threw.",
  },
} as const satisfies Record<string, { readonly status: number; readonly description: string }>;

export type DtabErrorCode = keyof typeof DTAB_ERRORS;

export interface DtabErrorDetails {
  /** Character offset (UTF-16 code units) into `input` where the problem was found. */
  readonly offset?: number;
  /** The text that was being parsed. */
  readonly input?: string;
  /** What the parser expected at `offset`, as shown in the message. */
  readonly expected?: string;
  /** What the parser found at `offset` ("'x'" or "end of input"). */
  readonly found?: string;
  readonly cause?: unknown;
}

export class DtabError extends Error {
  override readonly name = "DtabError";
  readonly code: DtabErrorCode;
  /** HTTP status a server should answer with when this error reaches a client. */
  readonly status: number;
  readonly offset: number | undefined;
  readonly input: string | undefined;
  readonly expected: string | undefined;
  readonly found: string | undefined;

  constructor(code: DtabErrorCode, message: string, details: DtabErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = DTAB_ERRORS[code].status;
    this.offset = details.offset;
    this.input = details.input;
    this.expected = details.expected;
    this.found = details.found;
  }
}

export function isDtabError(e: unknown): e is DtabError {
  return e instanceof DtabError;
}

/** How much of the input a parse error quotes on each side of the offset. */
const CONTEXT_CHARS = 40;

/**
 * The line of the input that holds `offset`, with the character there in
 * brackets as Finagle shows it (`/foo[^]bar`, `/foo/[]` at the end), clipped
 * around the offset so a long dtab does not end up whole in one message.
 */
export function markOffset(input: string, offset: number): string {
  const lineStart = input.lastIndexOf("\n", offset - 1) + 1;
  const newline = input.indexOf("\n", offset);
  const lineEnd = newline === -1 ? input.length : newline;
  const ch = input.charAt(offset);
  const at = offset >= input.length ? "[]" : ch === "\n" ? "[\\n]" : `[${ch}]`;
  const start = Math.max(lineStart, offset - CONTEXT_CHARS);
  const end = Math.min(lineEnd, offset + 1 + CONTEXT_CHARS);
  const before = (start > lineStart ? "…" : "") + input.slice(start, offset);
  const after = offset >= lineEnd ? "" : input.slice(offset + 1, end) + (end < lineEnd ? "…" : "");
  return before + at + after;
}

/** "line 3, column 7" for an offset, counted from 1, for inputs of several lines. */
export function lineAndColumn(input: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < input.length; i++) {
    if (input.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
