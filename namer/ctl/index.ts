// namerctl, the operators' CLI for the namer: the command line (main,
// buildNamerctl) and the API client it drives (dtabs, names, registry), for
// scripts that would rather call the namer from TypeScript than shell out.
export { main, buildNamerctl, DEFAULT_NAMER_URL, DEFAULT_TIMEOUT_MS } from "./program.ts";
export type { NamerctlIo } from "./program.ts";
export { NamerClient, parseBaseUrl } from "./client.ts";
export type { NamespaceDtab, HistoryEntry, RollbackResult, NamerClientOptions, RegistrationInput } from "./client.ts";
export type { Instance } from "./answers.ts";
export { ApiError, CtlError, InputError, UnreachableError, UsageError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from "./errors.ts";
export type { ExitCode } from "./errors.ts";
