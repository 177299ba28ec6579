// The namer's wire forms the router reads and writes: bind documents (namerd's
// delegator JSON) to and from the interpreter's Binding, address JSON to Addr.
export { BindDocumentError, decodeAddr, decodeBinding, parseBindDocument } from "./bind-json.ts";
export { bindingJson } from "../interpreter/json.ts";
