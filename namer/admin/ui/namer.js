// The namer's dtab pages: the namespace list (and create), one namespace's
// dtab with compare-and-set editing (If-Match with the version loaded; a
// conflict is shown with the other writer's dtab and a diff, never
// overwritten), and its history with rollback. Everything goes through the
// API's dtab resource as this admin server mounts it (same origin).
/* global document, fetch, location, Node, sessionStorage, URLSearchParams */
import { diffView, getJson, h, HttpError, offsetView, replace, request } from "/files/common/dom.js";

const app = document.getElementById("app");
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TOKEN_KEY = "meshd.namer.token";

// === token ===

const tokenInput = document.getElementById("token");
tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
tokenInput.addEventListener("change", () => sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim()));
document.getElementById("token-forget").addEventListener("click", () => {
  tokenInput.value = "";
  sessionStorage.removeItem(TOKEN_KEY);
});

function writeHeaders(extra) {
  const token = tokenInput.value.trim();
  return { ...extra, ...(token === "" ? {} : { authorization: `Bearer ${token}` }) };
}

// === helpers ===

const api = (ns, rest = "") => `/api/1/dtabs/${encodeURIComponent(ns)}${rest}`;

/** One dentry per line, as people write dtabs (the API's text form is one line). */
const pretty = (show) => (show === "" ? "" : show.split(";").join(";\n"));

/**
 * Dtab text in the API's spacing, one dentry per line: comment lines dropped,
 * blanks collapsed, none around "=>". Diffs compare this, so spacing alone is
 * never shown as a change.
 */
function normalized(text) {
  const entries = text
    .split("\n")
    .filter((line) => !line.trim().startsWith("#"))
    .join(" ")
    .split(";")
    .map((e) => e.trim().replace(/\s+/g, " ").replace(/\s*=>\s*/, "=>"))
    .filter((e) => e !== "");
  return entries.join(";\n");
}

const versionOf = (res) => (res.headers.get("etag") ?? "").replace(/^W\//, "").replace(/"/g, "");

/** The namespace's dtab now: { version, text } or undefined when it does not exist. */
async function load(ns) {
  const res = await fetch(api(ns), { headers: { accept: "application/dtab" } });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new HttpError(res.status, `${res.status}: ${(await res.text()).trim()}`);
  return { version: versionOf(res), text: pretty((await res.text()).trim()), modified: res.headers.get("last-modified") ?? "" };
}

/** A message box; a plain object as the first child gives it extra attributes (id, dataset). */
function notice(kind, ...children) {
  const first = children[0];
  const props = first !== null && typeof first === "object" && !(first instanceof Node) ? children.shift() : {};
  return h("div", { ...props, class: `notice ${kind}`, role: kind === "error" || kind === "conflict" ? "alert" : "status" }, ...children);
}

/** What a refused write means for the operator. */
function writeError(e, text) {
  if (!(e instanceof HttpError)) return notice("error", `The write failed: ${e.message}`);
  const code = e.body?.error?.code;
  if (e.status === 401 || e.status === 403) {
    document.getElementById("token-panel").open = true;
    return notice("error", { dataset: { error: "auth" } }, `Not allowed: ${e.message}. `, e.status === 401 ? "Enter a write token below." : "");
  }
  if (code === "NAMER_ERR_INVALID_DTAB") return notice("error", `The dtab does not parse: ${e.body.error.message}`, offsetView(text, e.body.error.offset));
  return notice("error", e.message);
}

// === namespace list ===

async function listView() {
  document.title = "meshd namer · dtabs";
  const names = await getJson("/api/1/dtabs");
  const nameInput = h("input", { type: "text", id: "new-ns", class: "mono", autocomplete: "off", spellcheck: "false", required: true });
  const dtabInput = h("textarea", { id: "new-dtab", class: "mono", rows: 4, spellcheck: "false", placeholder: "/svc => /#/io.l5d.fs;" });
  const out = h("div");
  const create = async (event) => {
    event.preventDefault();
    const ns = nameInput.value.trim();
    if (!NAMESPACE.test(ns)) {
      replace(out, notice("error", "Namespace names are 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit."));
      return;
    }
    try {
      await request(api(ns), { method: "POST", headers: writeHeaders({ "content-type": "application/dtab" }), body: dtabInput.value });
      location.assign(`/?ns=${encodeURIComponent(ns)}`);
    } catch (e) {
      replace(out, e instanceof HttpError && e.status === 409 ? notice("error", `Namespace ${ns} already exists.`) : writeError(e, dtabInput.value));
    }
  };
  replace(
    app,
    h("h1", {}, "Namespaces"),
    h(
      "section",
      { class: "panel" },
      names.length === 0
        ? h("p", { class: "empty" }, "No namespaces yet.")
        : h(
            "table",
            {},
            h("caption", { class: "visually-hidden" }, "Namespaces"),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Namespace"))),
            h("tbody", {}, names.map((ns) => h("tr", { dataset: { ns } }, h("td", {}, h("a", { href: `/?ns=${encodeURIComponent(ns)}`, class: "mono" }, ns))))),
          ),
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "create-title" },
      h("h2", { id: "create-title" }, "Create a namespace"),
      h(
        "form",
        { onsubmit: create, novalidate: true },
        h("label", { for: "new-ns" }, "Name"),
        nameInput,
        h("label", { for: "new-dtab" }, "Dtab"),
        dtabInput,
        h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create")),
        out,
      ),
    ),
  );
}

// === one namespace ===

async function namespaceView(ns) {
  document.title = `meshd namer · ${ns}`;
  const current = await load(ns);
  if (current === undefined) {
    replace(app, h("p", {}, h("a", { href: "/" }, "← Namespaces")), notice("error", `Namespace ${ns} does not exist (it may have been deleted).`), await historySection(ns, undefined));
    return;
  }
  // The version this editor is based on: sent as If-Match, so a write never replaces a version we have not seen.
  let base = current;
  const text = h("textarea", { id: "dtab-text", class: "mono", spellcheck: "false", "aria-describedby": "save-result", value: base.text });
  const versionEl = h("b", { id: "version", dataset: { version: base.version } }, base.version);
  const modifiedEl = h("span", {}, base.modified === "" ? "" : `last changed ${base.modified}`);
  const result = h("div", { id: "save-result" });
  const historyBox = h("div", { id: "history" });
  const saveButton = h("button", { type: "submit", class: "primary", id: "save" }, "Save");

  const rebase = (state, message) => {
    base = state;
    versionEl.textContent = state.version;
    versionEl.dataset.version = state.version;
    if (state.modified) modifiedEl.textContent = `last changed ${state.modified}`;
    if (message !== undefined) replace(result, message);
  };

  const showConflict = async (mine) => {
    const theirs = await load(ns);
    if (theirs === undefined) {
      replace(result, notice("conflict", { id: "conflict", dataset: { theirVersion: "" } }, `Not saved: namespace ${ns} was deleted after you loaded version ${base.version}. Your text is still in the editor.`));
      return;
    }
    replace(
      result,
      notice(
        "conflict",
        { id: "conflict", dataset: { theirVersion: theirs.version } },
        h("p", {}, h("strong", {}, "Not saved: "), `someone else changed ${ns} after you loaded version ${base.version}. It is now version ${theirs.version}. Your text is still in the editor; nothing was overwritten.`),
        h(
          "div",
          { class: "conflict-grid" },
          h("div", {}, h("h3", {}, `Their dtab (version ${theirs.version})`), h("pre", { id: "their-dtab" }, theirs.text === "" ? "(empty)" : theirs.text)),
          h("div", {}, h("h3", {}, "Changes from yours to theirs"), diffView(normalized(mine), normalized(theirs.text), { del: "only in yours", add: "only in theirs" })),
        ),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", id: "take-theirs", onclick: () => ((text.value = theirs.text), rebase(theirs, notice("ok", `Loaded version ${theirs.version}.`))) }, "Discard mine, load theirs"),
          h(
            "button",
            { type: "button", id: "keep-mine", onclick: () => rebase(theirs, notice("conflict", `Editing on top of version ${theirs.version}: Save will replace it with your text.`)) },
            `Keep mine on top of version ${theirs.version}`,
          ),
        ),
      ),
    );
  };

  const save = async (event) => {
    event.preventDefault();
    saveButton.disabled = true;
    const mine = text.value;
    try {
      const res = await request(api(ns), { method: "PUT", headers: writeHeaders({ "content-type": "application/dtab", "if-match": `"${base.version}"` }), body: mine });
      const version = versionOf(res);
      rebase({ version, text: mine, modified: new Date().toUTCString() }, notice("ok", { dataset: { savedVersion: version } }, `Saved as version ${version}.`));
      replace(historyBox, await historySection(ns, version, rollback));
    } catch (e) {
      if (e instanceof HttpError && (e.status === 412 || e.status === 409)) await showConflict(mine);
      else replace(result, writeError(e, mine));
    } finally {
      saveButton.disabled = false;
    }
  };

  const rollback = async (version) => {
    try {
      const res = await request(api(ns, `/rollback?version=${encodeURIComponent(version)}`), { method: "POST", headers: writeHeaders({ "if-match": `"${base.version}"` }) });
      const now = await load(ns);
      if (now !== undefined) {
        text.value = now.text;
        rebase(now, notice("ok", { dataset: { savedVersion: now.version } }, `Rolled back: version ${versionOf(res) || now.version} restores version ${version}.`));
      }
      replace(historyBox, await historySection(ns, now?.version, rollback));
    } catch (e) {
      if (e instanceof HttpError && (e.status === 412 || e.status === 409)) await showConflict(text.value);
      else replace(result, writeError(e, text.value));
    }
  };

  replace(
    app,
    h("p", {}, h("a", { href: "/" }, "← Namespaces")),
    h("h1", {}, "Namespace ", h("span", { class: "mono", id: "ns" }, ns)),
    h(
      "section",
      { class: "panel", "aria-labelledby": "edit-title" },
      h("h2", { id: "edit-title" }, "Dtab"),
      h("div", { class: "meta" }, h("span", {}, "version ", versionEl), modifiedEl),
      h(
        "form",
        { onsubmit: save },
        h("label", { for: "dtab-text" }, "Entries ", h("span", { class: "hint" }, "(one dentry per line; later entries win)")),
        text,
        h(
          "div",
          { class: "actions" },
          saveButton,
          h("button", { type: "button", id: "reload", onclick: () => void namespaceView(ns) }, "Reload"),
          h("span", { class: "muted" }, "Save sends If-Match with the version shown, so it never replaces a change you have not seen."),
        ),
        result,
      ),
    ),
    historyBox,
  );
  replace(historyBox, await historySection(ns, base.version, rollback));
}

async function historySection(ns, currentVersion, rollback) {
  let entries;
  try {
    entries = await getJson(api(ns, "/history"));
  } catch (e) {
    return h("section", { class: "panel" }, h("h2", {}, "History"), notice("error", `Cannot read the history: ${e.message}`));
  }
  return h(
    "section",
    { class: "panel", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, "History"),
    entries.length === 0
      ? h("p", { class: "empty" }, "No history kept.")
      : h(
          "table",
          {},
          h("caption", { class: "visually-hidden" }, `Versions of ${ns}, newest first`),
          h("thead", {}, h("tr", {}, ["Version", "Change", "When", "Who", "Dtab", ""].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            entries.map((e) =>
              h(
                "tr",
                { dataset: { version: e.version } },
                h("td", { class: "num" }, e.version, e.version === currentVersion ? [" ", h("span", { class: "pill good" }, "current")] : null),
                h("td", {}, e.action, e.restoredVersion ? ` (of ${e.restoredVersion})` : ""),
                h("td", { class: "muted" }, e.at),
                h("td", {}, e.actor, h("span", { class: "muted" }, e.source ? ` from ${e.source}` : "")),
                h("td", {}, h("pre", {}, e.action === "delete" ? "(deleted)" : pretty(e.dtab) || "(empty)")),
                h(
                  "td",
                  {},
                  rollback !== undefined && e.version !== currentVersion && e.action !== "delete"
                    ? h("button", { type: "button", dataset: { rollback: e.version }, onclick: () => void rollback(e.version) }, `Roll back to ${e.version}`)
                    : null,
                ),
              ),
            ),
          ),
        ),
  );
}

async function route() {
  const ns = new URLSearchParams(location.search).get("ns");
  try {
    if (ns === null || ns === "") await listView();
    else if (!NAMESPACE.test(ns)) replace(app, notice("error", "That is not a namespace name."));
    else await namespaceView(ns);
    app.dataset.ready = "true";
  } catch (e) {
    replace(app, notice("error", `Cannot load: ${e.message}`));
  }
}

void route();
