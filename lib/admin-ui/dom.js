// DOM and data helpers shared by the router's and the namer's admin pages.
// Every string reaches the page as a text node or an attribute value set
// through the DOM, never as HTML, so dtab text and paths cannot inject markup.
/* global document, fetch */

/**
 * Makes an element: h("td", { class: "num", dataset: { field: "rps" } }, "12").
 * Children are nodes or strings (strings become text nodes); null/undefined/false are skipped.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(el.dataset, value);
    // Through the CSSOM: the pages' Content-Security-Policy refuses inline style attributes.
    else if (key === "style") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An HTTP failure with the status and the server's own words. */
export class HttpError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** What a failed response says: the JSON error message when there is one, else its text. */
async function failure(res) {
  const text = await res.text();
  let body;
  let message = text.trim() || res.statusText;
  try {
    body = JSON.parse(text);
    if (typeof body?.error === "string") message = body.error;
    else if (typeof body?.error?.message === "string") message = body.error.message;
  } catch {
    // plain text
  }
  return new HttpError(res.status, `${res.status}: ${message}`, body);
}

/** GET (or any method) a JSON document; throws HttpError on a non-2xx answer. */
export async function getJson(url, init) {
  const res = await fetch(url, { ...init, headers: { accept: "application/json", ...init?.headers } });
  if (!res.ok) throw await failure(res);
  return res.json();
}

/** fetch that throws HttpError on a non-2xx answer and returns the response otherwise. */
export async function request(url, init) {
  const res = await fetch(url, init);
  if (!res.ok) throw await failure(res);
  return res;
}

const integer = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

/** Numbers as an operator reads them: counts whole, rates to one decimal, "–" for nothing. */
export const fmt = {
  count: (n) => (n === undefined || Number.isNaN(n) ? "–" : integer.format(n)),
  rate: (n) => (n === undefined || Number.isNaN(n) ? "–" : n < 10 ? oneDecimal.format(n) : integer.format(n)),
  percent: (r) => (r === undefined || Number.isNaN(r) ? "–" : `${(r * 100).toFixed(r === 1 ? 0 : 2)}%`),
  ms: (n) => (n === undefined || Number.isNaN(n) ? "–" : n < 10 ? `${n.toFixed(2)} ms` : `${integer.format(n)} ms`),
};

/**
 * A line diff (longest common subsequence), as [{op: " " | "-" | "+", line}],
 * from `a` (mine) to `b` (theirs). Dtabs are short, so the quadratic table is fine.
 */
export function lineDiff(aText, bText) {
  const a = aText.split("\n");
  const b = bText.split("\n");
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: " ", line: a[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: "-", line: a[i++] });
    else out.push({ op: "+", line: b[j++] });
  }
  while (i < n) out.push({ op: "-", line: a[i++] });
  while (j < m) out.push({ op: "+", line: b[j++] });
  return out;
}

/** A <pre> showing a diff: removed lines (only in `a`) and added ones (only in `b`) marked for eyes and screen readers. */
export function diffView(a, b, labels) {
  const rows = lineDiff(a, b).map(({ op, line }) =>
    h("span", { class: op === "-" ? "diff-del" : op === "+" ? "diff-add" : "diff-same", title: op === "-" ? labels.del : op === "+" ? labels.add : undefined }, `${op} ${line}\n`),
  );
  return h("pre", { class: "diff", "aria-label": `changes: - ${labels.del}, + ${labels.add}` }, rows);
}

/** Shows a parse error under an input: the message and the text with a caret at the offset. */
export function offsetView(text, offset) {
  if (typeof offset !== "number" || offset < 0) return null;
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  const lineEnd = text.indexOf("\n", offset);
  const line = text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd);
  const column = offset - lineStart;
  const lineNo = before.split("\n").length;
  return h("pre", { class: "caret", dataset: { offset: String(offset) } }, `line ${lineNo}, column ${column + 1} (offset ${offset}):\n${line}\n${" ".repeat(column)}^`);
}
