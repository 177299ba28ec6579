// Test helper: run a function that must throw and hand back what it threw,
// failing the test when it does not throw at all.
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to throw, but it returned normally");
}
