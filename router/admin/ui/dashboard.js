// The router dashboard: per router, its services (logical names) and
// clients (bound names) with requests/s, success rate, latency, retries and
// load-balancer state, refreshed every second from /admin/metrics.json and
// /client_state.json; rates come from the difference between samples.
/* global document, performance, setTimeout */
import { fmt, getJson, h, replace } from "/files/common/dom.js";

const POLL_MS = 1000;
/** Rates and success rates are computed over this much history. */
const WINDOW_MS = 10_000;
/** The dtab chain is re-read this often (it may need a trip to the namer). */
const ROUTERS_EVERY_MS = 10_000;

const SERVICE_STAT = /^(.*)\/(requests|success|failures|retries\/total|latency_ms\.(?:p50|p90|p95|p99|p9990|count)|status\/[1-5]XX)$/;
const CLIENT_STAT = /^(.*)\/(requests|success|failures|pending|loadbalancer\/size|loadbalancer\/available|failure[_/]accrual\/removals)$/;
const SERVER_STAT = /^(.*)\/(requests|in[_/]flight)$/;
const PATTERNS = { service: SERVICE_STAT, client: CLIENT_STAT, server: SERVER_STAT };

/** metrics.json → Map(router → { service, client, server: Map(name → { stat → value }) }). */
function parse(metrics) {
  const routers = new Map();
  for (const [key, value] of Object.entries(metrics)) {
    const m = /^rt\/([^/]+)\/(service|client|server)\/(.+)$/.exec(key);
    if (m === null) continue;
    const [, rt, kind, rest] = m;
    const stat = PATTERNS[kind].exec(rest);
    if (stat === null) continue;
    let r = routers.get(rt);
    if (r === undefined) routers.set(rt, (r = { service: new Map(), client: new Map(), server: new Map() }));
    const byName = r[kind];
    let entry = byName.get(stat[1]);
    if (entry === undefined) byName.set(stat[1], (entry = {}));
    // failure_accrual/removals and in_flight may come with a slash for the underscore.
    entry[stat[2].replace(/^failure_accrual\//, "failure/accrual/").replace(/^in_flight$/, "in/flight")] = value;
  }
  return routers;
}

const samples = [];
let routerInfo = [];
let routerInfoAt = -Infinity;
const sections = new Map();

/** The oldest sample still inside the window (the newest is the one being shown). */
function baseline() {
  return samples.length < 2 ? undefined : samples[0];
}

function get(sample, rt, kind, name, stat) {
  return sample?.parsed.get(rt)?.[kind].get(name)?.[stat];
}

/** Per-second rate of a counter over the window, or undefined with a single sample. */
function rate(now, base, rt, kind, name, stat) {
  if (base === undefined) return undefined;
  const dt = (now.t - base.t) / 1000;
  if (dt <= 0) return undefined;
  const a = get(base, rt, kind, name, stat) ?? 0;
  const b = get(now, rt, kind, name, stat) ?? 0;
  return Math.max(0, b - a) / dt;
}

/** Success rate over the window; when the window saw no requests, since start (marked so). */
function successRate(now, base, rt, kind, name) {
  const s = get(now, rt, kind, name, "success") ?? 0;
  const f = get(now, rt, kind, name, "failures") ?? 0;
  if (base !== undefined) {
    const ds = s - (get(base, rt, kind, name, "success") ?? 0);
    const df = f - (get(base, rt, kind, name, "failures") ?? 0);
    if (ds + df > 0) return { value: ds / (ds + df), windowed: true };
  }
  return s + f > 0 ? { value: s / (s + f), windowed: false } : { value: undefined, windowed: false };
}

function srClass(sr) {
  if (sr === undefined) return "muted";
  return sr >= 0.99 ? "good" : sr >= 0.95 ? "warn" : "bad";
}

function num(field, value, text, extra = {}) {
  return h("td", { class: `num ${extra.class ?? ""}`.trim(), dataset: { field, value: value === undefined ? "" : String(value) }, title: extra.title }, text);
}

function srCell(sr) {
  const title = sr.value === undefined ? "no requests yet" : sr.windowed ? "over the last 10 s" : "since start (no requests in the last 10 s)";
  return num("success-rate", sr.value, `${fmt.percent(sr.value)}${sr.value !== undefined && !sr.windowed ? " *" : ""}`, { class: srClass(sr.value), title });
}

function serviceRows(now, base, rt) {
  const services = [...(now.parsed.get(rt)?.service.keys() ?? [])].sort();
  if (services.length === 0) return [h("tr", {}, h("td", { colspan: 8, class: "empty" }, "No requests yet."))];
  return services.map((name) => {
    const total = get(now, rt, "service", name, "requests") ?? 0;
    const rps = rate(now, base, rt, "service", name, "requests");
    const retries = rate(now, base, rt, "service", name, "retries/total");
    const retriesTotal = get(now, rt, "service", name, "retries/total") ?? 0;
    return h(
      "tr",
      { dataset: { service: name } },
      h("th", { scope: "row", class: "mono" }, name),
      num("requests", total, fmt.count(total)),
      num("rps", rps, fmt.rate(rps)),
      srCell(successRate(now, base, rt, "service", name)),
      num("p50", get(now, rt, "service", name, "latency_ms.p50"), fmt.ms(get(now, rt, "service", name, "latency_ms.p50"))),
      num("p99", get(now, rt, "service", name, "latency_ms.p99"), fmt.ms(get(now, rt, "service", name, "latency_ms.p99"))),
      num("retries", retries, fmt.rate(retries)),
      num("retry-percent", total === 0 ? undefined : retriesTotal / total, fmt.percent(total === 0 ? undefined : retriesTotal / total), { title: "retries per request, since start" }),
    );
  });
}

function clientRows(now, base, rt, states) {
  const names = new Set([...(now.parsed.get(rt)?.client.keys() ?? [])]);
  for (const s of states) names.add(s.client);
  if (names.size === 0) return [h("tr", {}, h("td", { colspan: 8, class: "empty" }, "No clients yet."))];
  return [...names].sort().map((name) => {
    const state = states.find((s) => s.client === name);
    const endpoints = state?.endpoints ?? [];
    const size = state === undefined ? get(now, rt, "client", name, "loadbalancer/size") : endpoints.length;
    const available = state === undefined ? get(now, rt, "client", name, "loadbalancer/available") : endpoints.filter((e) => e.available).length;
    const ejected = endpoints.filter((e) => !e.available);
    const rps = rate(now, base, rt, "client", name, "requests");
    const share = size === undefined || size === 0 ? 0 : (available ?? 0) / size;
    return h(
      "tr",
      { dataset: { client: name } },
      h("th", { scope: "row", class: "mono" }, name, state === undefined || state.state === "bound" ? null : h("span", { class: "pill warn", title: "binding state" }, ` ${state.state}`)),
      num("rps", rps, fmt.rate(rps)),
      srCell(successRate(now, base, rt, "client", name)),
      num("pending", state?.inFlight ?? get(now, rt, "client", name, "pending"), fmt.count(state?.inFlight ?? get(now, rt, "client", name, "pending"))),
      num("lb-size", size, fmt.count(size)),
      h(
        "td",
        { class: "num", dataset: { field: "lb-available", value: String(available ?? "") } },
        h("span", { class: "bar", "aria-hidden": "true" }, h("span", { style: { width: `${Math.round(share * 100)}%` } })),
        fmt.count(available),
      ),
      h(
        "td",
        { dataset: { field: "ejected", value: String(ejected.length) } },
        ejected.length === 0 ? h("span", { class: "muted" }, "none") : h("span", { class: "endpoints" }, ejected.map((e) => h("span", { class: "pill bad mono", title: `failure accrual: ${e.accrual}` }, e.address))),
      ),
      h("td", { class: "muted" }, state?.balancer ?? ""),
    );
  });
}

function chainView(info) {
  if (info === undefined) return h("p", { class: "muted" }, "…");
  const links = info.chain ?? [{ source: "router dtab", dtab: info.dtab ?? "" }];
  return h(
    "div",
    { class: "chain", dataset: { chain: info.label } },
    links.map((link) => [
      h("div", { class: "source" }, link.source, link.version ? h("span", { class: "muted" }, ` · v${link.version}`) : null),
      link.error
        ? h("div", { class: "notice error" }, link.error)
        : h("pre", { dataset: { source: link.source } }, link.dtab === "" ? "(empty)" : link.dtab.split(";").join(";\n")),
    ]),
    h("div", { class: "source" }, "request dtabs"),
    h("div", { class: "muted request-dtabs" }, "then l5d-ctx-dtab and l5d-dtab headers, per request (later entries win)"),
  );
}

function table(caption, headings, rows) {
  return h(
    "table",
    {},
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, headings.map(([label, numeric, title]) => h("th", { scope: "col", class: numeric ? "num" : undefined, title }, label)))),
    h("tbody", {}, rows),
  );
}

/** The section of one router, made once and then refreshed in place. */
function sectionFor(rt) {
  let s = sections.get(rt);
  if (s !== undefined) return s;
  const summary = h("div", { class: "summary" });
  const chain = h("div");
  const services = h("div");
  const clients = h("div");
  const root = h(
    "section",
    { class: "panel", dataset: { router: rt }, "aria-labelledby": `router-${rt}` },
    h("div", { class: "router-head" }, h("h2", { id: `router-${rt}` }, `Router ${rt}`), h("a", { href: `/dtab?router=${encodeURIComponent(rt)}` }, "Explain a path →")),
    summary,
    h("h3", {}, "Dtab chain"),
    chain,
    h("h3", {}, "Services (logical names)"),
    services,
    h("h3", {}, "Clients (bound names)"),
    clients,
  );
  s = { root, summary, chain, services, clients };
  sections.set(rt, s);
  return s;
}

function figure(field, value, text, label, cls) {
  return h("div", { class: "figure", dataset: { field, value: value === undefined ? "" : String(value) } }, h("span", { class: `value ${cls ?? ""}`.trim() }, text), h("span", { class: "label" }, label));
}

function render(clientStates) {
  const now = samples[samples.length - 1];
  const base = baseline();
  const labels = new Set([...routerInfo.map((r) => r.label), ...now.parsed.keys()]);
  const container = document.getElementById("routers");
  if (labels.size === 0) {
    replace(container, h("p", { class: "empty" }, "No routers."));
    return;
  }
  const shown = [];
  for (const rt of [...labels].sort()) {
    const s = sectionFor(rt);
    const states = Object.values(clientStates).filter((c) => c.router === rt);
    const serviceNames = [...(now.parsed.get(rt)?.service.keys() ?? [])];
    const total = serviceNames.reduce((n, name) => n + (get(now, rt, "service", name, "requests") ?? 0), 0);
    const rps = serviceNames.reduce((n, name) => (base === undefined ? undefined : (n ?? 0) + (rate(now, base, rt, "service", name, "requests") ?? 0)), 0);
    let ds = 0;
    let df = 0;
    let ls = 0;
    let lf = 0;
    for (const name of serviceNames) {
      const s1 = get(now, rt, "service", name, "success") ?? 0;
      const f1 = get(now, rt, "service", name, "failures") ?? 0;
      ls += s1;
      lf += f1;
      if (base !== undefined) {
        ds += s1 - (get(base, rt, "service", name, "success") ?? 0);
        df += f1 - (get(base, rt, "service", name, "failures") ?? 0);
      }
    }
    const sr = ds + df > 0 ? ds / (ds + df) : ls + lf > 0 ? ls / (ls + lf) : undefined;
    const inFlight = [...(now.parsed.get(rt)?.server.values() ?? [])].reduce((n, v) => n + (v["in/flight"] ?? 0), 0);
    const ejected = states.reduce((n, c) => n + c.endpoints.filter((e) => !e.available).length, 0);
    replace(
      s.summary,
      figure("rps", rps, fmt.rate(rps), "requests/s"),
      figure("success-rate", sr, fmt.percent(sr), ds + df > 0 ? "success rate (10 s)" : "success rate (since start)", srClass(sr)),
      figure("requests", total, fmt.count(total), "requests since start"),
      figure("in-flight", inFlight, fmt.count(inFlight), "in flight"),
      figure("ejected", ejected, fmt.count(ejected), "endpoints ejected", ejected > 0 ? "bad" : undefined),
    );
    replace(s.chain, chainView(routerInfo.find((r) => r.label === rt)));
    replace(
      s.services,
      table(`Services of router ${rt}`, [["Service"], ["Requests", true], ["Req/s", true], ["Success", true, "* = since start"], ["p50", true, "since start"], ["p99", true, "since start"], ["Retries/s", true], ["Retry %", true]], serviceRows(now, base, rt)),
    );
    replace(
      s.clients,
      table(`Clients of router ${rt}`, [["Client"], ["Req/s", true], ["Success", true], ["Pending", true], ["LB size", true], ["Available", true], ["Ejected endpoints"], ["Balancer"]], clientRows(now, base, rt, states)),
    );
    shown.push(s.root);
  }
  if (container.children.length !== shown.length || shown.some((el, i) => container.children[i] !== el)) replace(container, shown);
}

function setStatus(text, cls) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.className = `status ${cls ?? ""}`.trim();
}

async function tick() {
  const t = performance.now();
  try {
    const refreshInfo = t - routerInfoAt >= ROUTERS_EVERY_MS;
    const [metrics, clientStates, info] = await Promise.all([getJson("/admin/metrics.json"), getJson("/client_state.json"), refreshInfo ? getJson("/admin/routers.json") : undefined]);
    if (info !== undefined) {
      routerInfo = info;
      routerInfoAt = t;
    }
    samples.push({ t, parsed: parse(metrics) });
    while (samples.length > 2 && t - samples[1].t >= WINDOW_MS) samples.shift();
    render(clientStates);
    setStatus(`updated ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    setStatus(`cannot reach the admin: ${e.message}`, "bad");
  } finally {
    setTimeout(tick, POLL_MS);
  }
}

void tick();
