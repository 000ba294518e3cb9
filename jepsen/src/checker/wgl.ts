/**
 * The Wing–Gong–Lowe search for one partition, as Porcupine does it, written
 * for speed: the history is a doubly-linked list of call/return entries in
 * typed arrays; linearizing an op lifts its two entries out of the list and
 * backtracking puts them back. A cache of (linearized set, state) pairs,
 * hashed with an incremental Zobrist hash of the set, prunes configurations
 * already explored.
 *
 * Ops with `ret === Infinity` (info, crashed) are optional: they have no
 * return entry, may be linearized at any point after their call, and the
 * search succeeds once every other op is linearized.
 *
 * Correctness over speed wherever they conflict: a cache hit is confirmed by
 * comparing the exact set and state, and a budget ends the search with
 * `unknown`, never a guess.
 */
import type { Model, Operation } from "./model.ts"
import { wglHistory } from "./wgl-history.ts"

export interface Budget {
  /** Loop iterations allowed; the search reports `unknown` beyond it. */
  readonly maxSteps?: number | undefined
  /** A clock (ms) and the time at which to give up; checked every 4096 steps. */
  readonly now?: (() => number) | undefined
  readonly deadline?: number | undefined
  /**
   * Turn the (set, state) cache off: plain backtracking, exponential. Only
   * for measuring what the cache buys (the benchmark's naive baseline).
   */
  readonly noCache?: boolean | undefined
}

export type SearchResult =
  | { readonly verdict: "valid"; readonly steps: number; readonly order: ReadonlyArray<number> }
  | {
      readonly verdict: "invalid"
      readonly steps: number
      /** Positions (in the input array) of the longest partial linearization found, in order. */
      readonly longest: ReadonlyArray<number>
      /** The op that had to be linearized by then (its return came) but could not be. */
      readonly blocked: number
      /** Ops that were candidates at that point; each was illegal or already explored. */
      readonly candidates: ReadonlyArray<{ readonly op: number; readonly legal: boolean }>
    }
  | { readonly verdict: "unknown"; readonly steps: number; readonly reason: string }

/** A small, fixed PRNG for Zobrist keys (determinism; no Math.random). */
const zobristKeys = (n: number): Int32Array => {
  const z = new Int32Array(n)
  let x = 0x2545f491
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    z[i] = Math.imul(x, 0x9e3779b1) ^ (i * 0x85ebca6b)
  }
  return z
}

/** Every required op linearized: the order found, as positions in the input array. */
const validResult = (steps: number, stackEntry: Int32Array, sp: number, byCall: ReadonlyArray<number>): SearchResult => {
  const order: Array<number> = []
  for (let i = 0; i < sp; i++) order.push(byCall[stackEntry[i]!]!)
  return { verdict: "valid", steps, order }
}

/** The search backtracked past its first op: the deepest attempt and where it got stuck, as positions in the input array. */
const invalidResult = (
  steps: number,
  best: Int32Array,
  bestLen: number,
  blocked: number,
  candidates: ReadonlyArray<{ readonly op: number; readonly legal: boolean }>,
  byCall: ReadonlyArray<number>
): SearchResult => {
  const longest: Array<number> = []
  for (let i = 0; i < bestLen; i++) longest.push(byCall[best[i]!]!)
  return {
    verdict: "invalid",
    steps,
    longest,
    blocked: blocked === -1 ? -1 : byCall[blocked]!,
    candidates: candidates.map((c) => ({ op: byCall[c.op]!, legal: c.legal }))
  }
}

/**
 * Searches for a linearization of `ops` (one partition). Positions in the
 * result refer to indexes of `ops`.
 *
 * Deliberately one long function (issue 17 leaves it so): the loop, the
 * set-and-cache closures and the linked list share a dozen mutable locals
 * (the bitset's windows, the Zobrist hash, the stack pointer) that V8 keeps
 * in one context and inlines around. Splitting the loop body or the cache
 * into objects would turn those into property loads and calls on every step
 * of the hottest loop, the cost this file exists to avoid; so only what runs
 * once per search (building the history, shaping the result) lives outside.
 */
export const searchLinearization = <S, I, O>(
  model: Model<S, I, O>,
  ops: ReadonlyArray<Operation<I, O>>,
  budget: Budget = {}
): SearchResult => {
  const n = ops.length
  // Built once, outside the loop; the loop reads these as locals.
  const history = wglHistory(ops)
  const { byCall, inputs, outputs, optional, next, prev, head, tail } = history
  let required = history.required
  if (required === 0) return { verdict: "valid", steps: 0, order: [] }

  // Linearized set: a bitset in two regions, required ops in words [0, wa)
  // and open ops in [wa, words). Each region has a canonical window for the
  // cache: [lo, hi], lo = first word not all ones, hi = last non-zero word.
  const wa = (required + 31) >>> 5
  const words = wa + ((n - required + 31) >>> 5)
  const bitOf = new Int32Array(n)
  for (let k = 0; k < n; k++) bitOf[k] = k < required ? k : wa * 32 + (k - required)
  const bits = new Int32Array(words)
  let lo = 0
  let hi = -1
  let loB = wa
  let hiB = wa - 1
  const zob = zobristKeys(n)
  let zh = 0

  // Cache: chained hash table over typed arrays; states in a plain array.
  let cap = 1 << 12
  let mask = cap - 1
  let buckets = new Int32Array(cap).fill(-1)
  let size = 0
  let chain = new Int32Array(cap)
  let fullHash = new Int32Array(cap)
  let setLo = new Int32Array(cap)
  let setOff = new Int32Array(cap)
  let setLen = new Int32Array(cap)
  let setLoB = new Int32Array(cap)
  let setLenB = new Int32Array(cap)
  const cacheStates: Array<S> = []
  let pool = new Int32Array(1 << 14)
  let poolUsed = 0

  const grow = () => {
    const ncap = cap * 2
    const resize = (a: Int32Array) => {
      const b = new Int32Array(ncap)
      b.set(a)
      return b
    }
    chain = resize(chain)
    fullHash = resize(fullHash)
    setLo = resize(setLo)
    setOff = resize(setOff)
    setLen = resize(setLen)
    setLoB = resize(setLoB)
    setLenB = resize(setLenB)
    cap = ncap
    mask = cap - 1
    buckets = new Int32Array(cap).fill(-1)
    for (let i = 0; i < size; i++) {
      const b = fullHash[i]! & mask
      chain[i] = buckets[b]!
      buckets[b] = i
    }
  }

  const mix = (h: number) => {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
    return h ^ (h >>> 16)
  }

  /** Looks up (current bitset, state); inserts it if absent. Returns true if it was present. */
  const seenOrAdd = (h: number, state: S): boolean => {
    const len = hi >= lo ? hi - lo + 1 : 0
    const lenB = hiB >= loB ? hiB - loB + 1 : 0
    for (let i = buckets[h & mask]!; i !== -1; i = chain[i]!) {
      if (fullHash[i] !== h || setLo[i] !== lo || setLen[i] !== len || setLoB[i] !== loB || setLenB[i] !== lenB) continue
      const off = setOff[i]!
      let same = true
      for (let w = 0; w < len; w++) {
        if (pool[off + w] !== bits[lo + w]) {
          same = false
          break
        }
      }
      if (same) {
        for (let w = 0; w < lenB; w++) {
          if (pool[off + len + w] !== bits[loB + w]) {
            same = false
            break
          }
        }
      }
      if (same && model.equal(cacheStates[i]!, state)) return true
    }
    if (size === cap) grow()
    if (poolUsed + len + lenB > pool.length) {
      const p = new Int32Array(Math.max(pool.length * 2, poolUsed + len + lenB))
      p.set(pool)
      pool = p
    }
    for (let w = 0; w < len; w++) pool[poolUsed + w] = bits[lo + w]!
    for (let w = 0; w < lenB; w++) pool[poolUsed + len + w] = bits[loB + w]!
    const i = size++
    fullHash[i] = h
    setLo[i] = lo
    setLen[i] = len
    setLoB[i] = loB
    setLenB[i] = lenB
    setOff[i] = poolUsed
    poolUsed += len + lenB
    cacheStates.push(state)
    const b = h & mask
    chain[i] = buckets[b]!
    buckets[b] = i
    return false
  }

  const setBit = (k: number) => {
    const b = bitOf[k]!
    const w = b >>> 5
    bits[w] = bits[w]! | (1 << (b & 31))
    if (w < wa) {
      if (w > hi) hi = w
      if (w === lo) while (lo < wa && bits[lo] === -1) lo++
    } else {
      if (w > hiB) hiB = w
      if (w === loB) while (loB < words && bits[loB] === -1) loB++
    }
  }
  const clearBit = (k: number) => {
    const b = bitOf[k]!
    const w = b >>> 5
    bits[w] = bits[w]! & ~(1 << (b & 31))
    if (w < wa) {
      if (w < lo) lo = w
      if (w === hi) while (hi >= 0 && bits[hi] === 0) hi--
    } else {
      if (w < loB) loB = w
      if (w === hiB) while (hiB >= wa && bits[hiB] === 0) hiB--
    }
  }

  // Stack of linearized call entries and the states before them.
  const stackEntry = new Int32Array(n)
  const stackState: Array<S> = new Array(n)
  let sp = 0

  // Deepest partial linearization, copied lazily: best[0..agree) equals the
  // current stack, so a new record only copies what changed since.
  const best = new Int32Array(n)
  let bestLen = -1
  let agree = 0
  let blocked = -1
  let candidates: Array<{ op: number; legal: boolean }> = []

  const step = model.step
  const equal = model.equal
  const hash = model.hash
  const maxSteps = budget.maxSteps ?? Infinity
  const now = budget.now
  const deadline = budget.deadline ?? Infinity
  const useCache = budget.noCache !== true

  let state = model.init()
  let entry = next[head]!
  let steps = 0
  for (;;) {
    steps++
    if ((steps & 4095) === 0) {
      if (steps > maxSteps) return { verdict: "unknown", steps, reason: `step budget of ${maxSteps} exhausted` }
      if (now !== undefined && now() > deadline) return { verdict: "unknown", steps, reason: "time budget exhausted" }
    }
    if (entry < n) {
      // A call entry: try to linearize op `entry` now.
      const k = entry
      const ns = step(state, inputs[k]!, outputs[k]!)
      if (ns !== undefined && !(optional[k] === 1 && equal(ns, state))) {
        setBit(k)
        zh ^= zob[k]!
        if (!useCache || !seenOrAdd(mix(zh ^ Math.imul(hash(ns), 0x27d4eb2f)), ns)) {
          stackEntry[sp] = k
          stackState[sp] = state
          sp++
          state = ns
          // lift: unlink the call and its return
          next[prev[k]!] = next[k]!
          prev[next[k]!] = prev[k]!
          if (optional[k] === 0) {
            const r = n + k
            next[prev[r]!] = next[r]!
            prev[next[r]!] = prev[r]!
            if (--required === 0) return validResult(steps, stackEntry, sp, byCall)
          }
          entry = next[head]!
          continue
        }
        zh ^= zob[k]!
        clearBit(k)
      }
      entry = next[entry]!
    } else {
      // A return entry (or the end): the op it closes was not linearized in time.
      if (sp > bestLen) {
        for (let i = agree; i < sp; i++) best[i] = stackEntry[i]!
        bestLen = sp
        agree = sp
        blocked = entry === tail ? -1 : entry - n
        candidates = []
        for (let e = next[head]!; e !== entry; e = next[e]!) {
          if (e < n) candidates.push({ op: e, legal: step(state, inputs[e]!, outputs[e]!) !== undefined })
        }
      }
      if (sp === 0) return invalidResult(steps, best, bestLen, blocked, candidates, byCall)
      sp--
      if (sp < agree) agree = sp
      const k = stackEntry[sp]!
      state = stackState[sp]!
      stackState[sp] = undefined as unknown as S
      zh ^= zob[k]!
      clearBit(k)
      // unlift: relink the return, then the call
      if (optional[k] === 0) {
        const r = n + k
        next[prev[r]!] = r
        prev[next[r]!] = r
        required++
      }
      next[prev[k]!] = k
      prev[next[k]!] = k
      entry = next[k]!
    }
  }
}
