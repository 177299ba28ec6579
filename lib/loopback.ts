// Whether an address is this host's own, for the trust decisions that hang
// on it: a client's address (as sockets report it, IPv4-mapped forms
// included) on the admin and namer write APIs, and a listener's configured
// ip (which may be the name localhost) for whether it clears context.

/** 127.0.0.0/8 and ::1, in IPv4-mapped form too, and the name localhost. */
export function isLoopback(ip: string | undefined): boolean {
  if (ip === undefined) return false;
  const a = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  return a === "::1" || a.startsWith("127.") || a === "localhost";
}
