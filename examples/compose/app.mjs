// A stand-in application for the compose example, with no dependencies:
// it answers GET / with its own name, and GET /call/<name> calls
// http://<name>/ through the mesh (the router named by $http_proxy), so one
// curl shows a request crossing from one "host" to the other. While it runs
// it keeps itself registered in the namer's service registry.
//
//   APP_NAME=app-a PORT=8080 http_proxy=http://127.0.0.1:4140 node app.mjs

// Node's globals, for the linter (which applies browser-neutral rules to .mjs files).
/* global process, console, fetch, URL, AbortSignal, setInterval */
import { createServer, request as httpRequest } from "node:http";

const name = process.env.APP_NAME ?? "app";
const port = Number(process.env.PORT ?? 8080);
const proxy = process.env.http_proxy ?? process.env.HTTP_PROXY;

/** GET http://<target>/ through the proxy: an absolute URI on the request line, as http_proxy clients send it. */
function callThroughProxy(target) {
  const url = new URL(`http://${target}/`);
  const via = proxy === undefined ? url : new URL(proxy);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: via.hostname, port: via.port || 80, method: "GET", path: proxy === undefined ? "/" : url.href, headers: { host: url.host }, timeout: 10_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, body, error: res.headers["l5d-err"] }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out after 10 s")));
    req.on("error", reject);
    req.end();
  });
}

const server = createServer((req, res) => {
  const call = /^\/call\/([A-Za-z0-9._-]+)\/?$/.exec(req.url ?? "");
  if (req.method === "GET" && req.url === "/") {
    res.writeHead(200, { "content-type": "text/plain" }).end(`${name}\n`);
  } else if (req.method === "GET" && call !== null) {
    callThroughProxy(call[1]).then(
      (r) => res.writeHead(r.status, { "content-type": "text/plain" }).end(`${name} -> ${call[1]}: ${r.status} ${r.body.trim()}${r.error ? ` (l5d-err: ${r.error})` : ""}\n`),
      (e) => res.writeHead(502, { "content-type": "text/plain" }).end(`${name} -> ${call[1]}: ${e.message}\n`),
    );
  } else {
    res.writeHead(404, { "content-type": "text/plain" }).end("try GET / or GET /call/<name>\n");
  }
});

// Registration: the namer's meshd.registry namer serves /#/registry/<name>
// from instances that register with a TTL and register again before it runs
// out. A failed attempt is only logged: the next one comes a third of a TTL later.
const namerUrl = process.env.NAMER_URL;
const hostIp = process.env.HOST_IP;
const ttlSeconds = 30;
async function register() {
  try {
    const res = await fetch(`${namerUrl}/api/1/registry/${encodeURIComponent(name)}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${process.env.REGISTRY_TOKEN ?? ""}` },
      body: JSON.stringify({ host: hostIp, port, ttlSeconds }),
      signal: AbortSignal.timeout(5_000),
    });
    if (!res.ok) console.error(`${name}: registration answered ${res.status}: ${(await res.text()).trim()}`);
  } catch (e) {
    // fetch's own message is just "fetch failed"; the reason (ECONNREFUSED, …) is its cause.
    console.error(`${name}: registration failed: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
  }
}

server.listen(port, "0.0.0.0", () => {
  console.log(`${name} listening on :${port}${proxy === undefined ? "" : `, calling others through ${proxy}`}`);
  if (namerUrl !== undefined && hostIp !== undefined) {
    void register();
    setInterval(register, (ttlSeconds * 1000) / 3).unref();
  }
});

// PID 1 in a container gets no default signal handling: stop on SIGTERM ourselves.
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
