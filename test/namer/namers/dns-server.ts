// A small authoritative DNS server on 127.0.0.1 (UDP, a free port) for the
// DNS namer tests: the test owns the zone (A, AAAA, SRV; anything else is
// NXDOMAIN) and can make it fail (SERVFAIL) or go silent (queries time out).
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { once } from "node:events";
import { isIPv6 } from "node:net";

export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

export interface ZoneEntry {
  readonly a?: readonly string[];
  readonly aaaa?: readonly string[];
  readonly srv?: readonly SrvRecord[];
}

export type DnsMode = "answer" | "servfail" | "silent";

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;
const CLASS_IN = 1;

export class TestDnsServer {
  readonly #socket: Socket;
  readonly #zone = new Map<string, ZoneEntry>();
  readonly #queries: { name: string; type: number }[] = [];
  mode: DnsMode = "answer";

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("message", (message, remote) => this.#answer(message, remote));
  }

  static async start(): Promise<TestDnsServer> {
    const socket = createSocket("udp4");
    socket.bind(0, "127.0.0.1");
    await once(socket, "listening");
    return new TestDnsServer(socket);
  }

  /** "127.0.0.1:port", as dnsHosts takes it. */
  get address(): string {
    const a = this.#socket.address();
    return `${a.address}:${a.port}`;
  }

  /** Sets (or with undefined removes) a name's records; names are case-insensitive, without the final dot. */
  set(name: string, entry: ZoneEntry | undefined): void {
    const key = name.toLowerCase().replace(/\.$/, "");
    if (entry === undefined) this.#zone.delete(key);
    else this.#zone.set(key, entry);
  }

  /** Forgets every name. */
  clear(): void {
    this.#zone.clear();
  }

  /** How many queries arrived so far, for any name. */
  get totalQueries(): number {
    return this.#queries.length;
  }

  /** How many queries for `name` (optionally of one type: "A", "AAAA", "SRV") arrived so far, answered or not. */
  queries(name: string, type?: "A" | "AAAA" | "SRV"): number {
    const key = name.toLowerCase();
    const code = type === undefined ? undefined : { A: TYPE_A, AAAA: TYPE_AAAA, SRV: TYPE_SRV }[type];
    return this.#queries.filter((q) => q.name === key && (code === undefined || q.type === code)).length;
  }

  async close(): Promise<void> {
    this.#socket.close();
    await once(this.#socket, "close");
  }

  #answer(query: Buffer, remote: RemoteInfo): void {
    if (query.length < 12) return;
    const question = readQuestion(query, 12);
    if (question === undefined) return;
    this.#queries.push({ name: question.name, type: question.type });
    if (this.mode === "silent") return;
    const entry = this.#zone.get(question.name);
    let rcode = 0;
    const answers: Buffer[] = [];
    if (this.mode === "servfail") rcode = 2;
    else if (entry === undefined) rcode = 3;
    else if (question.type === TYPE_A) for (const ip of entry.a ?? []) answers.push(record(TYPE_A, Buffer.from(ip.split(".").map(Number))));
    else if (question.type === TYPE_AAAA) for (const ip of entry.aaaa ?? []) answers.push(record(TYPE_AAAA, ipv6Bytes(ip)));
    else if (question.type === TYPE_SRV) {
      for (const srv of entry.srv ?? []) {
        const fixed = Buffer.alloc(6);
        fixed.writeUInt16BE(srv.priority, 0);
        fixed.writeUInt16BE(srv.weight, 2);
        fixed.writeUInt16BE(srv.port, 4);
        answers.push(record(TYPE_SRV, Buffer.concat([fixed, encodeName(srv.target)])));
      }
    }
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    const rd = query.readUInt8(2) & 0x01;
    header.writeUInt8(0x80 | 0x04 | rd, 2); // QR, AA, RD as asked
    header.writeUInt8(0x80 | rcode, 3); // RA, rcode
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const response = Buffer.concat([header, query.subarray(12, question.end), ...answers]);
    this.#socket.send(response, remote.port, remote.address);
  }
}

function readQuestion(message: Buffer, offset: number): { name: string; type: number; end: number } | undefined {
  const labels: string[] = [];
  let at = offset;
  for (;;) {
    if (at >= message.length) return undefined;
    const length = message.readUInt8(at);
    at += 1;
    if (length === 0) break;
    if (length > 63 || at + length > message.length) return undefined;
    labels.push(message.subarray(at, at + length).toString("latin1"));
    at += length;
  }
  if (at + 4 > message.length) return undefined;
  return { name: labels.join(".").toLowerCase(), type: message.readUInt16BE(at), end: at + 4 };
}

/** An answer for the question's name (a pointer to offset 12), class IN, TTL 0 so nothing caches it. */
function record(type: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(CLASS_IN, 4);
  head.writeUInt32BE(0, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, "").split(".").filter((l) => l !== "");
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")])), Buffer.from([0])]);
}

function ipv6Bytes(ip: string): Buffer {
  if (!isIPv6(ip)) throw new Error(`not an IPv6 address: ${ip}`);
  const [head = "", tail] = ip.split("::");
  const groups = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const bytes = Buffer.alloc(16);
  all.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return bytes;
}
