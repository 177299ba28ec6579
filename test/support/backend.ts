// Real HTTP backends on loopback for router tests: each answers with what it
// saw (so tests can check forwarding), can be told to fail, stall, or cut a
// response short, and counts its requests.
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly bodyBytes: number;
}

export type BackendMode =
  | { kind: "ok" }
  | { kind: "status"; status: number }
  | { kind: "stall" }
  | { kind: "delay"; ms: number }
  | { kind: "truncate" }
  | { kind: "echo" }
  | { kind: "large"; bytes: number };

export class Backend {
  readonly name: string;
  readonly server: Server;
  readonly seen: Seen[] = [];
  mode: BackendMode = { kind: "ok" };
  #host = "127.0.0.1";

  private constructor(name: string) {
    this.name = name;
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        this.seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, bodyBytes: body.length });
        const mode = this.mode;
        switch (mode.kind) {
          case "stall":
            return; // never answers
          case "delay":
            setTimeout(() => {
              res.writeHead(200, { "content-type": "application/json", "x-backend": this.name });
              res.end(JSON.stringify({ backend: this.name, delayed: mode.ms }) + "\n");
            }, mode.ms);
            return;
          case "status":
            res.writeHead(mode.status, { "content-type": "text/plain", "x-backend": this.name });
            res.end(`${this.name} says ${mode.status}\n`);
            return;
          case "truncate":
            // Promise 100 bytes, send 10, then drop the connection.
            res.writeHead(200, { "content-length": "100", "x-backend": this.name });
            res.write("0123456789");
            setTimeout(() => res.socket?.destroy(), 20);
            return;
          case "echo":
            res.writeHead(200, { "content-type": "application/octet-stream", "x-backend": this.name });
            res.end(body);
            return;
          case "large": {
            res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(mode.bytes), "x-backend": this.name });
            const block = Buffer.alloc(64 * 1024, 7);
            let left = mode.bytes;
            const pump = (): void => {
              while (left > 0) {
                const n = Math.min(left, block.length);
                left -= n;
                if (!res.write(n === block.length ? block : block.subarray(0, n))) return void res.once("drain", pump);
              }
              res.end();
            };
            pump();
            return;
          }
          case "ok":
            res.writeHead(200, { "content-type": "application/json", "x-backend": this.name });
            res.end(JSON.stringify({ backend: this.name, url: req.url, host: req.headers.host }) + "\n");
        }
      });
    });
  }

  static async start(name: string, host = "127.0.0.1", port = 0): Promise<Backend> {
    const b = new Backend(name);
    b.#host = host;
    b.server.listen(port, host);
    await once(b.server, "listening");
    return b;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get host(): string {
    return this.#host;
  }

  /** "host port" as an io.l5d.fs file line. */
  get fsLine(): string {
    return `${this.#host} ${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close").catch(() => undefined);
  }
}
