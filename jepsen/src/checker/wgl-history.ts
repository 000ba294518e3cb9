/**
 * The WGL search's view of a partition's history: ops renumbered (required
 * ops first, then open ones, each in call order) with their inputs and
 * outputs in flat arrays, and the call/return entries as a doubly-linked list
 * in typed arrays, sorted by time, that the search unlinks and relinks as it
 * linearizes and backtracks. Built once per search, outside its hot loop.
 */
import type { Operation } from "./model.ts"
import { Unknown } from "./model.ts"

export interface WglHistory<I, O> {
  /** byCall[k] = position in the input array of op id k. */
  readonly byCall: ReadonlyArray<number>
  readonly inputs: Array<I>
  readonly outputs: Array<O | typeof Unknown>
  /** 1 for an open op (no return: info, crashed), which the search may leave out. */
  readonly optional: Uint8Array
  /** How many ops have a return (must all be linearized). */
  readonly required: number
  /** Entry links: e < n is op e's call, e >= n op (e - n)'s return; head = 2n, tail = 2n + 1. */
  readonly next: Int32Array
  readonly prev: Int32Array
  readonly head: number
  readonly tail: number
}

export const wglHistory = <I, O>(ops: ReadonlyArray<Operation<I, O>>): WglHistory<I, O> => {
  const n = ops.length
  // Op ids: required ops first, then open (optional) ones, each in call
  // order. Required ops get linearized roughly in order, so their bits fill a
  // dense prefix; open ops may stay unlinearized forever, and keeping their
  // bits apart stops those holes from widening every cached set.
  const isOpen = (i: number) => (ops[i]!.ret === Infinity ? 1 : 0)
  const byCall = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => isOpen(a) - isOpen(b) || ops[a]!.call - ops[b]!.call || a - b
  )
  const inputs: Array<I> = new Array(n)
  const outputs: Array<O | typeof Unknown> = new Array(n)
  const optional = new Uint8Array(n)
  let required = 0
  for (let k = 0; k < n; k++) {
    const op = ops[byCall[k]!]!
    inputs[k] = op.input
    outputs[k] = op.output
    if (op.ret === Infinity) optional[k] = 1
    else required++
  }

  // Entries: calls and returns sorted by time; a call sorts before a return at
  // the same time (they overlap). Entry e < n is op e's call; e >= n is a return.
  const events: Array<number> = []
  for (let k = 0; k < n; k++) {
    events.push(k)
    if (!optional[k]) events.push(n + k)
  }
  const timeOf = (e: number) => (e < n ? ops[byCall[e]!]!.call : ops[byCall[e - n]!]!.ret)
  events.sort((a, b) => timeOf(a) - timeOf(b) || (a < n ? 0 : 1) - (b < n ? 0 : 1) || (a % n) - (b % n))
  const head = 2 * n
  const tail = 2 * n + 1
  const next = new Int32Array(2 * n + 2)
  const prev = new Int32Array(2 * n + 2)
  let last = head
  for (const e of events) {
    next[last] = e
    prev[e] = last
    last = e
  }
  next[last] = tail
  prev[tail] = last
  return { byCall, inputs, outputs, optional, required, next, prev, head, tail }
}
