/**
 * Collection models: an append-only list, a grow-only set and a FIFO queue.
 * States are nodes of a `SequenceTable` (equal contents, equal id), and
 * transitions are memoised, so a step is a map lookup.
 *
 * - list-append: `:append v` (ok) and `:read` -> the whole list.
 * - set: `:add v` (ok) and `:read` -> all elements, any order.
 * - queue: `:enqueue v` (ok) and `:dequeue` -> the head (nil: it was empty).
 */
import type { Unknown as UnknownT } from "../checker/model.ts"
import { Unknown } from "../checker/model.ts"
import type { PairedOp, Value } from "../history/op.ts"
import type { HistoryModel } from "./history-model.ts"
import { keyword, outcome } from "./history-model.ts"
import { SequenceTable, ValueTable } from "./intern.ts"

const ADD = 0
const READ = 1

/** f: ADD (append / add / enqueue) with value id `v`, or READ (read / dequeue). */
export interface CollectionInput {
  readonly f: number
  readonly v: number
}
/** READ output: a sequence node (list, set) or a value id (dequeue; -1 = empty). */
export type CollectionOutput = number | null

const items = (v: Value): ReadonlyArray<Value> => {
  if (v === null) return []
  if (!Array.isArray(v)) throw new TypeError(`expected a collection, got ${JSON.stringify(v)}`)
  return v as ReadonlyArray<Value>
}

interface Kind {
  readonly name: string
  readonly addOps: ReadonlyArray<string>
  readonly readOps: ReadonlyArray<string>
  /** The state after adding x. */
  readonly add: (seqs: SequenceTable, s: number, x: number) => number
  /** The output node a read observed. */
  readonly readOutput: (seqs: SequenceTable, values: ValueTable, v: Value) => number
  /** The next state, if `out` is legal for a read in `s`. */
  readonly read: (seqs: SequenceTable, s: number, out: number) => number | undefined
  readonly readOnly: boolean
  readonly describeRead: (seqs: SequenceTable, values: ValueTable, out: number) => string
}

const show = (seqs: SequenceTable, values: ValueTable, node: number) =>
  `[${seqs
    .items(node)
    .map((x) => JSON.stringify(values.value(x)))
    .join(" ")}]`

const makeCollection = (kind: Kind): HistoryModel<number, CollectionInput, CollectionOutput> => {
  const values = new ValueTable()
  const seqs = new SequenceTable()
  const step = (s: number, input: CollectionInput, out: CollectionOutput | UnknownT): number | undefined => {
    if (input.f === ADD) return seqs.derive(s, input.v, 0, () => kind.add(seqs, s, input.v))
    if (out === Unknown) {
      // An unobserved dequeue that happened removed the head, if there was one.
      return kind.readOnly || seqs.size(s) === 0 ? s : kind.read(seqs, s, seqs.items(s)[0]!)
    }
    return kind.read(seqs, s, out as number)
  }
  return {
    name: kind.name,
    init: () => SequenceTable.empty,
    step,
    equal: (a, b) => a === b,
    hash: (s) => s,
    ...(kind.readOnly ? { readOnly: (i: CollectionInput) => i.f === READ } : {}),
    describeOperation: (i, o) =>
      i.f === ADD
        ? `${kind.addOps[0]} ${JSON.stringify(values.value(i.v))}`
        : `${kind.readOps[0]} -> ${o === Unknown ? "?" : kind.describeRead(seqs, values, o as number)}`,
    describeState: (s) => show(seqs, values, s),
    fromOp: (p: PairedOp) => {
      const f = keyword(p.invoke.f)
      const result = outcome(p)
      if (result === "fail") return undefined
      if (kind.addOps.includes(f)) return { input: { f: ADD, v: values.id(p.invoke.value) }, output: null }
      if (kind.readOps.includes(f)) {
        return {
          input: { f: READ, v: 0 },
          output: result === "ok" ? kind.readOutput(seqs, values, p.completion!.value) : Unknown
        }
      }
      throw new TypeError(`${kind.name}: unknown op :${f}`)
    }
  }
}

/** An append-only list: reads see every append so far, in order. */
export const listAppend = () =>
  makeCollection({
    name: "list-append",
    addOps: ["append", "add"],
    readOps: ["read"],
    add: (seqs, s, x) => seqs.child(s, x),
    readOutput: (seqs, values, v) => seqs.of(items(v).map((x) => values.id(x))),
    read: (_, s, out) => (s === out ? s : undefined),
    readOnly: true,
    describeRead: (seqs, values, out) => show(seqs, values, out)
  })

const sortedUnique = (xs: ReadonlyArray<number>) => [...new Set(xs)].sort((a, b) => a - b)

/** A grow-only set: reads see exactly the elements added so far. */
export const set = () =>
  makeCollection({
    name: "set",
    addOps: ["add"],
    readOps: ["read"],
    add: (seqs, s, x) => seqs.of(sortedUnique([...seqs.items(s), x])),
    readOutput: (seqs, values, v) => seqs.of(sortedUnique(items(v).map((x) => values.id(x)))),
    read: (_, s, out) => (s === out ? s : undefined),
    readOnly: true,
    describeRead: (seqs, values, out) => `#{${show(seqs, values, out).slice(1, -1)}}`
  })

/** A FIFO queue; a dequeue that returns nil saw an empty queue. */
export const queue = () => {
  const emptyMarker = -1
  const head = (seqs: SequenceTable, s: number) => seqs.derive(s, 0, 1, () => seqs.items(s)[0]!)
  const rest = (seqs: SequenceTable, s: number) => seqs.derive(s, 0, 2, () => seqs.of(seqs.items(s).slice(1)))
  return makeCollection({
    name: "queue",
    addOps: ["enqueue"],
    readOps: ["dequeue"],
    add: (seqs, s, x) => seqs.child(s, x),
    readOutput: (_, values, v) => (v === null ? emptyMarker : values.id(v)),
    read: (seqs, s, out) => {
      if (seqs.size(s) === 0) return out === emptyMarker ? s : undefined
      return head(seqs, s) === out ? rest(seqs, s) : undefined
    },
    readOnly: false,
    describeRead: (_, values, out) => (out === emptyMarker ? "empty" : JSON.stringify(values.value(out)))
  })
}
