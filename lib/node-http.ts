// Node's http and https modules, taken through require rather than `import`.
// An ESM import of a built-in module builds its namespace from every export,
// lazy getters included, and node:http's `WebSocket` getter loads Node's
// bundled undici (fetch, WebSocket, web streams): about 3 MB of heap and
// 13 MB of resident memory in every router, for code it never runs. require
// reads only the properties the code asks for. https (and tls behind it) is
// loaded only when a URL asks for it. getText is the small GET the router
// needs (the global fetch would load that bundled undici too).
import type * as Http from "node:http";
import type * as Https from "node:https";
import { createRequire } from "node:module";
import type { Duplex } from "node:stream";

const require = createRequire(import.meta.url);

export const http = require("node:http") as typeof Http;

/**
 * Answers CONNECT like any other request on a server that is not a tunnel
 * proxy. Node hands CONNECT to a 'connect' listener and, without one, drops
 * the connection without a word; this gives it to the server's own request
 * handler instead (which answers it as it answers a method no route takes,
 * in that server's error format), then closes the connection, since what
 * follows a CONNECT on the wire is not HTTP.
 */
export function answerConnect(server: Http.Server): void {
  server.on("connect", (req: Http.IncomingMessage, socket: Duplex) => {
    // Node has taken its own listeners off the socket: a client that resets it must not crash the process.
    socket.on("error", () => socket.destroy());
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Parameters<Http.ServerResponse["assignSocket"]>[0]);
    res.once("finish", () => socket.end());
    server.emit("request", req, res);
  });
}

/** node:https, loaded on first use. */
function https(): typeof Https {
  return require("node:https") as typeof Https;
}

/** The module for a URL's scheme ("https:" or anything else: http). */
export function forScheme(protocol: string): typeof Http | typeof Https {
  return protocol === "https:" ? https() : http;
}

export interface TextResponse {
  readonly status: number;
  /** A 2xx status. */
  readonly ok: boolean;
  readonly headers: Http.IncomingHttpHeaders;
  readonly body: string;
}

/** A GET of `url`: its status, headers and body as text. Rejects on a network error, an abort, or a body cut short. */
export function getText(url: string, options: { readonly headers?: Readonly<Record<string, string>>; readonly signal?: AbortSignal } = {}): Promise<TextResponse> {
  return new Promise((resolve, reject) => {
    const request = forScheme(new URL(url).protocol).get(url, { headers: { ...options.headers }, ...(options.signal === undefined ? {} : { signal: options.signal }) }, (res) => {
      res.setEncoding("utf8");
      let body = "";
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status <= 299, headers: res.headers, body });
      });
      res.on("close", () => {
        if (!res.complete) reject(new Error(`the response from ${url} was cut short`));
      });
    });
    request.on("error", reject);
  });
}
