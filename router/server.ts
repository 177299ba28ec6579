// A router's listener (a `servers[]` entry): node:http with the limits a
// proxy edge needs, malformed input answered without breaking a pipelined
// response already under way, a cap on requests in flight, and a drain on
// shutdown that lets in-flight requests finish.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "../lib/log.ts";
import { isLoopback } from "../lib/loopback.ts";
import { answerConnect, http } from "../lib/node-http.ts";
import type { ServerConfig } from "./config.ts";
import { RouterError } from "./errors.ts";
import type { HttpRouter, ServerContext } from "./http-router.ts";
import { respondError } from "./http/respond.ts";

export interface ListenerOptions {
  readonly config: ServerConfig;
  readonly router: HttpRouter;
  readonly maxHeaders: number;
  readonly maxHeadersKB: number;
  readonly logger: Logger;
}

/** What the router is told about a listener. Clients on other hosts are untrusted unless the config says otherwise. */
function contextOf(options: ListenerOptions): ServerContext {
  const { config } = options;
  return { label: options.router.label, server: `${config.ip}:${config.port}`, clearContext: config.clearContext ?? !isLoopback(config.ip) };
}

export class Listener {
  readonly server: Server;
  #options: ListenerOptions;
  /** What the router is told about this listener, made once (not per request). */
  #context: ServerContext;
  #inFlight = 0;
  #draining = false;
  /** Every response emits 'close' once, answered or cut short: the one listener counting it out. */
  readonly #closed = (): void => {
    this.#inFlight--;
  };

  constructor(options: ListenerOptions) {
    this.#options = options;
    const { config } = options;
    this.#context = contextOf(options);
    this.server = http.createServer(
      {
        maxHeaderSize: options.maxHeadersKB * 1024,
        headersTimeout: config.headersTimeoutMs,
        keepAliveTimeout: config.keepAliveTimeoutMs,
        // Bodies may stream for long; the router's own timeouts bound requests.
        requestTimeout: 0,
        joinDuplicateHeaders: false,
      },
      (req, res) => this.#onRequest(req, res),
    );
    // Node drops header lines past this silently; the edge check answers 431 when it is reached.
    this.server.maxHeadersCount = options.maxHeaders;
    this.server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => this.#onClientError(err, socket));
    // CONNECT (a client with https_proxy pointed here asking for a tunnel) is refused like any request the router cannot route: 400 with l5d-err.
    answerConnect(this.server);
  }

  /**
   * Applies a reloaded config for the same ip:port. Limits Node fixes at
   * creation (the header block size) keep their old value until a restart.
   */
  update(options: ListenerOptions): void {
    this.#options = options;
    this.#context = contextOf(options);
    this.server.headersTimeout = options.config.headersTimeoutMs;
    this.server.keepAliveTimeout = options.config.keepAliveTimeoutMs;
    this.server.maxHeadersCount = options.maxHeaders;
  }

  get clearContext(): boolean {
    return this.#context.clearContext;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    // A response shorter or longer than its Content-Length is an error, not a silent truncation.
    res.strictContentLength = true;
    if (this.#draining) {
      res.shouldKeepAlive = false;
      respondError(res, new RouterError("ROUTER_ERR_SHUTTING_DOWN", "the router is shutting down"), { clearContext: this.#context.clearContext });
      return;
    }
    const max = this.#options.config.maxConcurrentRequests;
    if (max !== undefined && this.#inFlight >= max) {
      respondError(res, new RouterError("ROUTER_ERR_OVERLOADED", `more than ${max} requests in flight on this server`), { clearContext: this.#context.clearContext });
      return;
    }
    this.#inFlight++;
    res.on("close", this.#closed);
    this.#options.router.handle(req, res, this.#context);
  }

  /**
   * Malformed requests (Node's parser refused them). Answered with 400, 431
   * or 408 and the connection closed — but only after a response already in
   * flight on this connection (pipelining) has finished, which Node's default
   * handler does not wait for.
   */
  #onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "HPE_HEADERS_TIMEOUT" ? 408 : 400;
    const reply = (): void => {
      if (!socket.writable) return;
      const body = `${status} ${http.STATUS_CODES[status] ?? ""}: ${err.code ?? "bad request"}\n`;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ""}\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    // Node has no public way to ask for the response in progress on a socket.
    const inProgress = (socket as unknown as { _httpMessage?: ServerResponse })._httpMessage;
    if (inProgress !== undefined && inProgress !== null && !inProgress.writableFinished) {
      if (inProgress.req.complete) inProgress.once("finish", reply);
      else this.#refuseBody(err, inProgress, socket);
    } else reply();
    this.#options.logger.debug({ code: err.code, status }, "malformed request refused");
  }

  /**
   * The error is in the body of the request being answered (a bad chunk, a
   * transfer coding Node cannot read): nothing more of it will arrive, so
   * the upstream attempt is stopped (through the response's 'close') and
   * the client told 400 if no response has started, then the connection
   * is closed.
   */
  #refuseBody(err: NodeJS.ErrnoException, res: ServerResponse, socket: Socket): void {
    res.shouldKeepAlive = false;
    res.once("finish", () => socket.destroy());
    if (res.headersSent) socket.destroy();
    else respondError(res, new RouterError("ROUTER_ERR_BAD_REQUEST", `malformed request body (${err.code ?? err.message})`), { clearContext: this.#context.clearContext });
  }

  async listen(): Promise<string> {
    const { ip, port } = this.#options.config;
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, ip, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const address = this.server.address();
    const where = typeof address === "string" || address === null ? `${ip}:${port}` : `${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
    return `http://${where}`;
  }

  /** Stops accepting, answers new requests on open connections with 503, waits for in-flight ones (at most graceMs). */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.server.closeAllConnections();
    await closed;
  }
}
