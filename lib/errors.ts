// What the namer's, the router's and the config loader's error catalogues
// share: each code's HTTP status and meaning, and an error class that takes
// its status from the catalogue. (dtab/ keeps its own: it imports nothing.)

/** One code of a catalogue: the HTTP status it is answered with, and what it means (docs/errors.md lists every code). */
export interface ErrorInfo {
  readonly status: number;
  readonly description: string;
}

/** A package's codes (`<PACKAGE>_ERR_*`); declare one `as const satisfies ErrorCatalogue`. */
export type ErrorCatalogue = Readonly<Record<string, ErrorInfo>>;

/** An error with a stable code from its package's catalogue and that code's HTTP status. */
export abstract class CatalogueError<Code extends string> extends Error {
  readonly code: Code;
  readonly status: number;

  protected constructor(catalogue: Readonly<Record<Code, ErrorInfo>>, code: Code, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.status = catalogue[code].status;
  }
}
