// Character classes exactly as Finagle's parser sees them: the JVM's
// Character.isWhitespace and Character.isDigit, and Path's showable set.
// JavaScript's own \s and \d differ from both (see dtab-semantics §2, §3).

/**
 * java.lang.Character.isWhitespace for one UTF-16 code unit: the Unicode
 * space, line and paragraph separators except the no-break ones (U+00A0,
 * U+2007, U+202F), plus U+0009–U+000D and U+001C–U+001F. U+FEFF and U+0085
 * are not whitespace.
 */
export function isJavaWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x1680) return false;
  return (
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a && c !== 0x2007) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x205f ||
    c === 0x3000
  );
}

const ND = /^\p{Nd}$/u;

/** java.lang.Character.isDigit for one UTF-16 code unit: general category Nd, any script. */
export function isJavaDigit(c: number): boolean {
  if (c >= 0x30 && c <= 0x39) return true;
  if (c < 0x80 || (c >= 0xd800 && c <= 0xdfff)) return false;
  return ND.test(String.fromCharCode(c));
}

/**
 * The value of a decimal digit of any script (Character.digit(c, 10)), or -1.
 * Every Nd run in Unicode is a complete 0–9 sequence, so the value is the
 * distance from the start of the run, modulo 10.
 */
export function javaDigitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (!isJavaDigit(c)) return -1;
  let start = c;
  while (start > 0 && isJavaDigit(start - 1)) start--;
  return (c - start) % 10;
}

const SHOWABLE: readonly boolean[] = (() => {
  const table: boolean[] = new Array<boolean>(128).fill(false);
  const mark = (from: string, to: string): void => {
    for (let c = from.charCodeAt(0); c <= to.charCodeAt(0); c++) table[c] = true;
  };
  mark("0", "9");
  mark("A", "Z");
  mark("a", "z");
  for (const c of "_:.#$%-") table[c.charCodeAt(0)] = true;
  return table;
})();

/** The 69 characters a path label may contain unescaped: [0-9A-Za-z] and _ : . # $ % - */
export function isShowable(c: number): boolean {
  return c < 128 && SHOWABLE[c] === true;
}

export function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

export function hexValue(c: number): number {
  if (c <= 0x39) return c - 0x30;
  if (c <= 0x46) return c - 0x41 + 10;
  return c - 0x61 + 10;
}

/**
 * Integer.parseInt(s) as the JVM does it: an optional sign, then one or more
 * decimal digits of any script, in the int32 range; otherwise undefined.
 */
export function parseJavaInt(s: string): number | undefined {
  let i = 0;
  let negative = false;
  const first = s.charCodeAt(0);
  if (first === 0x2b || first === 0x2d) {
    negative = first === 0x2d;
    i = 1;
  }
  if (i >= s.length) return undefined;
  let value = 0;
  for (; i < s.length; i++) {
    const d = javaDigitValue(s.charCodeAt(i));
    if (d < 0) return undefined;
    value = value * 10 + d;
    if (value > 2147483648) return undefined;
  }
  if (negative) return -value;
  return value > 2147483647 ? undefined : value;
}
