// The dtab playground: explains a path through a router's dtab chain (plus
// an optional override dtab) with /delegator.json, drawing the delegation
// tree with the dentry used at each step and the live addresses at the leaves.
/* global document, location, history, URLSearchParams */
import { getJson, h, HttpError, offsetView, replace } from "/files/common/dom.js";

const form = document.getElementById("explain");
const routerSelect = document.getElementById("router");
const pathInput = document.getElementById("path");
const dtabInput = document.getElementById("dtab");
const result = document.getElementById("result");
const busy = document.getElementById("busy");
let routers = [];

const KIND = {
  delegate: { text: "", cls: "" },
  alt: { text: "alternates: the first that binds wins", cls: "muted" },
  union: { text: "union: balanced by weight", cls: "muted" },
  leaf: { text: "bound", cls: "good" },
  neg: { text: "no binding (neg)", cls: "bad" },
  fail: { text: "fails (!)", cls: "bad" },
  empty: { text: "empty: exists, no addresses", cls: "warn" },
  exception: { text: "error", cls: "bad" },
};

function address(a) {
  const host = a.ip.includes(":") ? `[${a.ip}]` : a.ip;
  const meta = Object.entries(a.meta ?? {}).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return h("span", { class: "pill addr", dataset: { addr: `${host}:${a.port}` }, title: meta.length === 0 ? undefined : meta.join(", ") }, `${host}:${a.port}`);
}

function leafDetails(bound) {
  const addr = bound.addr;
  const parts = [h("span", { class: "mono", dataset: { bound: bound.id } }, `⇒ ${bound.id}`)];
  if (bound.path !== "/") parts.push(h("span", { class: "muted mono" }, `residual ${bound.path}`));
  switch (addr.type) {
    case "bound":
      parts.push(addr.addrs.length === 0 ? h("span", { class: "warn" }, "no addresses") : h("span", { class: "endpoints", "aria-label": "addresses" }, addr.addrs.map(address)));
      break;
    case "failed":
      parts.push(h("span", { class: "bad" }, `address lookup failed: ${addr.cause}`));
      break;
    default:
      parts.push(h("span", { class: "warn" }, `addresses ${addr.type}`));
  }
  return parts;
}

function nodeView(node, weight) {
  const kind = KIND[node.type] ?? { text: node.type, cls: "muted" };
  const dentry = node.dentry !== undefined && node.dentry.prefix !== "" ? node.dentry : undefined;
  const line = h(
    "div",
    { class: "node" },
    weight === undefined ? null : h("span", { class: "weight" }, `${weight} ×`),
    h("span", { class: "path" }, node.path),
    dentry === undefined ? null : h("span", { class: "dentry", dataset: { dentry: `${dentry.prefix}=>${dentry.dst}` } }, "via ", h("b", {}, `${dentry.prefix} => ${dentry.dst}`)),
    kind.text === "" ? null : h("span", { class: `pill ${kind.cls}` }, kind.text),
    node.type === "leaf" ? leafDetails(node.bound) : null,
    node.type === "exception" ? h("span", { class: "bad" }, node.message) : null,
  );
  const children =
    node.type === "delegate" ? [nodeView(node.delegate)] : node.type === "alt" ? node.alt.map((n) => nodeView(n)) : node.type === "union" ? node.union.map((u) => nodeView(u.tree, u.weight)) : [];
  return h("li", { dataset: { type: node.type, path: node.path } }, line, children.length === 0 ? null : h("ul", {}, children));
}

function chainView(info) {
  if (info === undefined) return h("p", { class: "muted" }, "unknown router");
  return h(
    "div",
    { class: "chain" },
    (info.chain ?? []).map((link) => [
      h("div", { class: "source" }, link.source, link.version ? h("span", { class: "muted" }, ` · v${link.version}`) : null),
      link.error ? h("div", { class: "notice error" }, link.error) : h("pre", {}, link.dtab === "" ? "(empty)" : link.dtab.split(";").join(";\n")),
    ]),
    h("div", { class: "source" }, "override (below)"),
    h("pre", {}, dtabInput.value.trim() === "" ? "(none)" : dtabInput.value.trim()),
  );
}

function showChain() {
  const label = routerSelect.value;
  document.getElementById("chain-router").textContent = label === "" ? "the router" : `router ${label}`;
  replace(document.getElementById("chain"), chainView(routers.find((r) => r.label === label)));
}

function clearErrors() {
  for (const id of ["path-error", "dtab-error"]) replace(document.getElementById(id));
  pathInput.removeAttribute("aria-invalid");
  dtabInput.removeAttribute("aria-invalid");
}

function showInputError(what, message, offset) {
  const input = what === "path" ? pathInput : dtabInput;
  input.setAttribute("aria-invalid", "true");
  replace(document.getElementById(`${what}-error`), h("div", { class: "notice error", role: "alert", dataset: { error: what } }, message, offsetView(input.value, offset)));
}

async function explain() {
  clearErrors();
  const path = pathInput.value.trim();
  if (path === "") {
    showInputError("path", "Type a path to explain, such as /svc/users.");
    return;
  }
  const params = new URLSearchParams({ router: routerSelect.value, path });
  if (dtabInput.value.trim() !== "") params.set("dtab", dtabInput.value);
  history.replaceState(null, "", `/dtab?${params}`);
  showChain();
  busy.textContent = "explaining…";
  try {
    const tree = await getJson(`/delegator.json?${params}`);
    replace(result, h("ul", { class: "tree", "aria-label": `delegation of ${path}` }, nodeView(tree)));
  } catch (e) {
    const body = e instanceof HttpError ? e.body : undefined;
    if (e instanceof HttpError && e.status === 400 && (body?.what === "path" || body?.what === "dtab")) {
      showInputError(body.what, body.error, body.offset);
      replace(result, h("p", { class: "empty" }, "Nothing to show until the input parses."));
    } else {
      replace(result, h("div", { class: "notice error", role: "alert", dataset: { error: "explain" } }, `Could not explain ${path}: ${e.message}`));
    }
  } finally {
    busy.textContent = "";
  }
}

async function start() {
  const query = new URLSearchParams(location.search);
  try {
    routers = await getJson("/admin/routers.json");
  } catch (e) {
    replace(result, h("div", { class: "notice error", role: "alert" }, `Cannot list the routers: ${e.message}`));
    return;
  }
  replace(
    routerSelect,
    routers.map((r) => h("option", { value: r.label, selected: r.label === query.get("router") }, r.label)),
  );
  pathInput.value = query.get("path") ?? "";
  dtabInput.value = query.get("dtab") ?? "";
  routerSelect.addEventListener("change", showChain);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void explain();
  });
  showChain();
  form.dataset.ready = "true";
  if (pathInput.value !== "") await explain();
}

void start();
