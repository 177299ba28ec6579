// meshd/dtab: the pure naming model shared by the namer and the router —
// paths, name trees, dentries, dtabs, binding and delegation, with Finagle's
// exact semantics. No I/O and no Node-only APIs: it runs in a browser too.

export { Path } from "./path.ts";
export { NameTree, DEFAULT_WEIGHT } from "./name-tree.ts";
export type { Leaf, Alt, Union, Weighted, Neg, Fail, Empty, ShowableLeaf } from "./name-tree.ts";
export { Dentry, Prefix, ANY_ELEM } from "./dentry.ts";
export type { PrefixElem } from "./dentry.ts";
export { Dtab } from "./dtab.ts";
export type { DentryJson } from "./dtab.ts";
export { bind, lookupPath, DEFAULT_MAX_DEPTH } from "./bind.ts";
export type { BindOptions } from "./bind.ts";
export { delegate, canonicalIp, DELEGATE_MAX_DEPTH } from "./delegate.ts";
export type { DelegateJson, BoundJson, AddrJson, AddressJson } from "./delegate.ts";
export { systemLookup, namerLookup, boundName, formatAddress, parseAddress } from "./namers.ts";
export type { Namer, BoundName, BoundNameInput, PartlyBound } from "./namers.ts";
export { readRequestDtab, readFinagleLocalDtab, headerValues, L5D_CTX_DTAB, L5D_DTAB, DTAB_LOCAL } from "./headers.ts";
export type { HeaderSource, HeaderValue, RequestDtabOptions } from "./headers.ts";
export { DtabError, DTAB_ERRORS, isDtabError } from "./errors.ts";
export type { DtabErrorCode, DtabErrorDetails } from "./errors.ts";
export { formatWeight } from "./format.ts";
