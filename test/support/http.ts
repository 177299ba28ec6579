// HTTP helpers for tests. send() and get() use node:http for what fetch will
// not do: set Host (routing by Host, the DNS-rebinding guard), send a proxy
// request's absolute target, and use a connection of its own per request
// unless given an agent. raw() sends bytes no client library would send.
// fakeFetch() stands in for fetch and records calls.
import { type Agent, type IncomingHttpHeaders, request } from "node:http";
import { connect } from "node:net";

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface SendOptions {
  /** Default GET. */
  readonly method?: string;
  /** Sent as given, Host included. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** The request target to send instead of the URL's path and query, e.g. an absolute URI for a proxy. */
  readonly target?: string;
  /** Default: a new connection, closed after the response. */
  readonly agent?: Agent;
}

/** One request; resolves with the whole response once it has ended. */
export function send(url: string, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      { host: u.hostname, port: u.port, path: options.target ?? `${u.pathname}${u.search}`, method: options.method ?? "GET", headers: options.headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** GET with Host `host`: how a router is asked for a service. Other headers go after Host. */
export function get(url: string, host: string, options: Omit<SendOptions, "method" | "body"> = {}): Promise<Reply> {
  return send(url, { ...options, headers: { host, ...options.headers } });
}

/** A request as fakeFetch() saw it. */
export interface SeenRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  readonly signal: AbortSignal | undefined;
}

/** A fetch that records each request in `seen` and answers it with `reply`. */
export function fakeFetch(reply: (req: SeenRequest) => Response): { fetch: typeof fetch; seen: SeenRequest[] } {
  const seen: SeenRequest[] = [];
  const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req: SeenRequest = {
      url: String(input),
      method: init?.method ?? "GET",
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      body: typeof init?.body === "string" ? init.body : undefined,
      signal: init?.signal ?? undefined,
    };
    seen.push(req);
    return reply(req);
  };
  return { fetch: f as typeof fetch, seen };
}

/** A JSON response, as the namer API sends them. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/**
 * Sends raw bytes and returns the raw response (for requests a client library
 * would not send). With `until`, the connection stays open (no half-close,
 * which makes Node abort pipelined requests) until the output matches it.
 */
export function raw(port: number, text: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let out = "";
    const done = (): void => {
      socket.destroy();
      resolve(out);
    };
    socket.on("data", (c) => {
      out += c.toString();
      if (until?.test(out) === true) done();
    });
    socket.on("end", done);
    socket.on("error", reject);
    socket.setTimeout(5_000, done);
    if (until === undefined) socket.end(text);
    else socket.write(text);
  });
}
