/**
 * The linearizability checker: splits operations by the model's partition
 * (P-compositionality), runs the WGL search on each partition, and turns a
 * failure into a counterexample a person can read.
 *
 * Verdicts: `valid` (a linearization exists), `invalid` (none exists; comes
 * with a counterexample), `unknown` (the budget ran out first). The checker
 * never guesses.
 */
import type { Model, Operation } from "./model.ts"
import { Unknown } from "./model.ts"
import type { Budget } from "./wgl.ts"
import { searchLinearization } from "./wgl.ts"

export type Verdict = "valid" | "invalid" | "unknown"

export interface CounterexampleStep {
  /** The op's `id` (e.g. the history index of its invoke). */
  readonly id: number
  readonly process: number | string
  readonly description: string
  /** The model state after this op. */
  readonly stateAfter: string
}

export interface Counterexample {
  readonly partition: string | number | undefined
  /** The longest partial linearization found, in order. */
  readonly linearized: ReadonlyArray<CounterexampleStep>
  /** The model state after that prefix. */
  readonly state: string
  /** The op whose completion forced a decision but which could not be linearized (undefined: none). */
  readonly blocked: { readonly id: number; readonly process: number | string; readonly description: string } | undefined
  /** Ops that could have come next; `legal: false` means the model rejects them in `state`. */
  readonly candidates: ReadonlyArray<{
    readonly id: number
    readonly process: number | string
    readonly description: string
    readonly legal: boolean
  }>
}

export interface LinearizabilityResult {
  readonly verdict: Verdict
  readonly model: string
  readonly operations: number
  readonly partitions: number
  /** Search loop iterations, summed over partitions: a machine-independent cost. */
  readonly steps: number
  readonly reason?: string | undefined
  readonly counterexample?: Counterexample | undefined
}

export interface CheckOptions extends Budget {}

const describeOp = <S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string =>
  model.describeOperation
    ? model.describeOperation(op.input, op.output)
    : `${JSON.stringify(op.input)} -> ${op.output === Unknown ? "?" : JSON.stringify(op.output)}`

const describeState = <S, I, O>(model: Model<S, I, O>, s: S): string =>
  model.describeState ? model.describeState(s) : JSON.stringify(s) ?? String(s)

/** Groups ops by partition key, smallest partition first (cheap failures first). */
export const partitionOps = <S, I, O>(
  model: Model<S, I, O>,
  ops: ReadonlyArray<Operation<I, O>>
): Array<{ readonly key: string | number | undefined; readonly ops: ReadonlyArray<Operation<I, O>> }> => {
  const part = model.partition
  if (part === undefined) return [{ key: undefined, ops }]
  const groups = new Map<string | number, Array<Operation<I, O>>>()
  for (const op of ops) {
    const k = part(op.input)
    let g = groups.get(k)
    if (g === undefined) groups.set(k, (g = []))
    g.push(op)
  }
  return [...groups.entries()].map(([key, ops]) => ({ key, ops })).sort((a, b) => a.ops.length - b.ops.length)
}

/**
 * Drops what cannot matter: read-only ops whose output is unknown (they may
 * happen anywhere and change nothing).
 */
const relevant = <S, I, O>(model: Model<S, I, O>, ops: ReadonlyArray<Operation<I, O>>) => {
  const ro = model.readOnly
  return ro === undefined ? ops : ops.filter((op) => !(op.output === Unknown && ro(op.input)))
}

/** Checks `ops` against `model`. Pure: pass `now` in `options` for a time budget. */
export const checkOperations = <S, I, O>(
  model: Model<S, I, O>,
  ops: ReadonlyArray<Operation<I, O>>,
  options: CheckOptions = {}
): LinearizabilityResult => {
  let steps = 0
  let unknownReason: string | undefined
  const parts = partitionOps(model, relevant(model, ops))
  for (const { key, ops: pops } of parts) {
    const remaining = options.maxSteps === undefined ? undefined : options.maxSteps - steps
    if (remaining !== undefined && remaining <= 0) {
      unknownReason = `step budget of ${options.maxSteps} exhausted`
      break
    }
    if (options.now !== undefined && options.deadline !== undefined && options.now() > options.deadline) {
      unknownReason = "time budget exhausted"
      break
    }
    const r = searchLinearization(model, pops, { ...options, maxSteps: remaining })
    steps += r.steps
    if (r.verdict === "unknown") {
      // Keep going: another partition may still prove the history invalid.
      unknownReason = r.reason
      continue
    }
    if (r.verdict === "invalid") {
      let s = model.init()
      const linearized: Array<CounterexampleStep> = []
      for (const i of r.longest) {
        const op = pops[i]!
        const t = model.step(s, op.input, op.output)
        if (t === undefined) throw new Error("counterexample prefix does not replay: bug in the model or checker")
        s = t
        linearized.push({ id: op.id, process: op.process, description: describeOp(model, op), stateAfter: describeState(model, s) })
      }
      const b = r.blocked === -1 ? undefined : pops[r.blocked]!
      return {
        verdict: "invalid",
        model: model.name,
        operations: ops.length,
        partitions: parts.length,
        steps,
        counterexample: {
          partition: key,
          linearized,
          state: describeState(model, s),
          blocked: b === undefined ? undefined : { id: b.id, process: b.process, description: describeOp(model, b) },
          candidates: r.candidates.map((c) => {
            const op = pops[c.op]!
            return { id: op.id, process: op.process, description: describeOp(model, op), legal: c.legal }
          })
        }
      }
    }
  }
  return {
    verdict: unknownReason === undefined ? "valid" : "unknown",
    model: model.name,
    operations: ops.length,
    partitions: parts.length,
    steps,
    ...(unknownReason === undefined ? {} : { reason: unknownReason })
  }
}
