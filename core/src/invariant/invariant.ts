/**
 * Invariant assertions, TigerBeetle style: a violated invariant is a bug, not
 * an error to recover from. It throws an `InvariantViolation` defect, which the
 * simulator catches at the top of a run and reports with the seed.
 */

/** A broken internal invariant. Never caught by protocol code. */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation"
  constructor(message: string) {
    super(message)
  }
}

/** Asserts `condition`; on failure throws `InvariantViolation` with `message`. */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new InvariantViolation(typeof message === "string" ? message : message())
  }
}

/** Marks a branch the type system proves unreachable. */
export function unreachable(value: never, what = "value"): never {
  throw new InvariantViolation(`unreachable ${what}: ${JSON.stringify(value)}`)
}
