// A tiny stand-in for the namer's bind API, for what a real namer will not
// do on demand: send garbage, go silent, refuse, hang, or cut streams.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Behaviour = "stream" | "refuse" | "hang" | { status: number; body: string };

export class FakeNamer {
  readonly server: Server;
  readonly requests: string[] = [];
  /** Open streams, oldest first. */
  readonly streams: ServerResponse[] = [];
  /** What the next requests get; `first` is written to a new stream at once. */
  behaviour: Behaviour = "stream";
  first: string | undefined;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<FakeNamer> {
    const server = createServer();
    const fake = new FakeNamer(server);
    server.on("request", (req, res) => fake.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Streams still open (the client has not gone). */
  get open(): ServerResponse[] {
    return this.streams.filter((s) => !s.destroyed && !s.writableEnded);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(req.url ?? "");
    const b = this.behaviour;
    if (b === "refuse") {
      req.socket.destroy();
      return;
    }
    if (b === "hang") return;
    if (typeof b === "object") {
      res.writeHead(b.status, { "content-type": "application/json" }).end(b.body);
      return;
    }
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.flushHeaders();
    this.streams.push(res);
    if (this.first !== undefined) res.write(this.first + "\n");
  }

  /** Writes raw bytes to every open stream. */
  write(raw: string | Buffer): void {
    for (const s of this.open) s.write(raw);
  }

  /** Sends one document (a line) to every open stream. */
  send(doc: unknown): void {
    this.write((typeof doc === "string" ? doc : JSON.stringify(doc)) + "\n");
  }

  endAll(): void {
    for (const s of this.open) s.end();
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A bind document for /svc/<name> bound to 127.0.0.1:<port>. */
export function leafDoc(port: number, path = "/svc/users"): Record<string, unknown> {
  return {
    type: "leaf",
    path,
    bound: { addr: { type: "bound", addrs: [{ ip: "127.0.0.1", port, meta: {} }], meta: {} }, id: `/$/inet/127.0.0.1/${port}`, path: "/" },
  };
}
