/**
 * What a linearizability checker needs to know about a data type: a
 * sequential specification as a small pure object. Models are plain data
 * plus functions so users can write their own (see docs/jepsen.md).
 *
 * `step` is deterministic: it returns the next state, or `undefined` when the
 * output is impossible from that state. A non-deterministic specification
 * (several next states) can be lifted with `powerset` below.
 */

/** The output of an op whose result was never seen (`info`, a timed-out read). */
export const Unknown: unique symbol = Symbol.for("cairn/jepsen/Unknown")
export type Unknown = typeof Unknown

export interface Model<State, Input, Output> {
  readonly name: string
  /** The initial state. */
  readonly init: () => State
  /** The next state, or `undefined` if `output` is impossible in `state`. `output` may be `Unknown`. */
  readonly step: (state: State, input: Input, output: Output | Unknown) => State | undefined
  readonly equal: (a: State, b: State) => boolean
  /** Must agree with `equal`: equal states hash alike. Any 32-bit integer. */
  readonly hash: (state: State) => number
  /**
   * Ops that never change the state (reads). An indeterminate read-only op
   * is dropped before the search: it may happen anywhere and changes nothing.
   */
  readonly readOnly?: (input: Input) => boolean
  /**
   * P-compositionality: ops on different partitions (keys) never interact,
   * so each partition is checked on its own, from `init()`.
   */
  readonly partition?: (input: Input) => string | number
  readonly describeOperation?: (input: Input, output: Output | Unknown) => string
  readonly describeState?: (state: State) => string
}

/** A type-erased model, for registries and the CLI. */
export type AnyModel = Model<unknown, unknown, unknown>

/** One completed (or open) client operation, ready for the search. */
export interface Operation<Input, Output> {
  /** Caller's id for reports, e.g. the index of the invoke in the history. */
  readonly id: number
  readonly process: number | string
  /** Real-time order of the invocation (history index or time). */
  readonly call: number
  /** Real-time order of the completion; `Infinity` when the op is open until the end (info). */
  readonly ret: number
  readonly input: Input
  /** `Unknown` if never observed. */
  readonly output: Output | Unknown
}

/** A non-deterministic specification, before lifting with `powerset`. */
export interface NondeterministicModel<State, Input, Output> {
  readonly name: string
  readonly init: () => ReadonlyArray<State>
  readonly step: (state: State, input: Input, output: Output | Unknown) => ReadonlyArray<State>
  readonly equal: (a: State, b: State) => boolean
  readonly hash: (state: State) => number
  readonly readOnly?: (input: Input) => boolean
  readonly describeOperation?: (input: Input, output: Output | Unknown) => string
  readonly describeState?: (state: State) => string
}

/**
 * Lifts a non-deterministic model to a deterministic one whose state is the
 * set of possible states (as Porcupine does); the step is illegal when no
 * state survives.
 */
export const powerset = <S, I, O>(m: NondeterministicModel<S, I, O>): Model<ReadonlyArray<S>, I, O> => {
  const dedupe = (xs: ReadonlyArray<S>): Array<S> => {
    const out: Array<S> = []
    for (const x of xs) if (!out.some((y) => m.equal(x, y))) out.push(x)
    return out
  }
  return {
    name: m.name,
    init: () => dedupe(m.init()),
    step: (states, input, output) => {
      const next: Array<S> = []
      for (const s of states) for (const t of m.step(s, input, output)) next.push(t)
      const d = dedupe(next)
      return d.length === 0 ? undefined : d
    },
    equal: (a, b) => a.length === b.length && a.every((x) => b.some((y) => m.equal(x, y))),
    // Order-independent: a sum of element hashes.
    hash: (states) => {
      let h = 0
      for (const s of states) h = (h + Math.imul(m.hash(s) | 0, 0x9e3779b1)) | 0
      return h
    },
    ...(m.readOnly ? { readOnly: m.readOnly } : {}),
    ...(m.describeOperation ? { describeOperation: m.describeOperation } : {}),
    describeState: (states) => `{${states.map((s) => (m.describeState ? m.describeState(s) : String(s))).join(", ")}}`
  }
}
