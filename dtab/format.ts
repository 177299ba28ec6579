// Union weights print the way the JVM's String.format("%.2f", w) prints them,
// because Finagle's show form is what Linkerd users see and compare.

/**
 * The JVM's `%.2f` in the ROOT locale: it takes the shortest decimal digits
 * that identify the double (as Double.toString does) and rounds them HALF_UP,
 * so 1.005 → "1.01" and 2.675 → "2.68", where JavaScript's toFixed(2), which
 * rounds the exact binary value, gives "1.00" and "2.67".
 */
export function formatWeight(w: number): string {
  if (Number.isNaN(w)) return "NaN";
  if (!Number.isFinite(w)) return w > 0 ? "Infinity" : "-Infinity";
  const sign = w < 0 || Object.is(w, -0) ? "-" : "";
  const [mantissa = "0", exponent = "0"] = Math.abs(w).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  // The value is digits × 10^(exp - (digits.length - 1)); we want it × 100.
  const shift = Number(exponent) - (digits.length - 1) + 2;
  let hundredths: bigint;
  if (shift >= 0) {
    hundredths = BigInt(digits + "0".repeat(shift));
  } else {
    const keep = digits.length + shift;
    const kept = keep > 0 ? BigInt(digits.slice(0, keep)) : 0n;
    const firstDropped = keep >= 0 ? Number(digits.charAt(keep)) : 0;
    hundredths = firstDropped >= 5 ? kept + 1n : kept;
  }
  const text = hundredths.toString().padStart(3, "0");
  return `${sign}${text.slice(0, -2)}.${text.slice(-2)}`;
}
