/**
 * An ordered map: a sorted list of sorted chunks (a B+tree of height two,
 * the layout of Python's sortedcontainers).
 *
 * Every chunk holds 1..`maxChunk` keys in parallel `keys`/`values` arrays,
 * and chunks are sorted and disjoint. A lookup binary-searches the chunks by
 * their first key, then the chunk. An insert or delete moves at most
 * `maxChunk` array slots, plus the chunk list on the rare split or merge, so
 * it stays cheap from a handful of keys (the simulator) to millions (a
 * server): with chunks of 512, ten million keys are 20-40 thousand chunks.
 * A plain sorted array (one chunk) moves O(n) slots per write instead; see
 * docs/kv.md for the measurements.
 */
import { assert } from "../invariant/invariant.ts"

interface Chunk<K, V> {
  keys: Array<K>
  values: Array<V>
}

export class OrderedMap<K, V> {
  private chunks: Array<Chunk<K, V>> = []
  private count = 0
  private readonly compare: (a: K, b: K) => number
  private readonly maxChunk: number

  constructor(compare: (a: K, b: K) => number, maxChunk = 512) {
    assert(Number.isInteger(maxChunk) && maxChunk >= 4, "chunk size must be an integer >= 4")
    this.compare = compare
    this.maxChunk = maxChunk
  }

  get size(): number {
    return this.count
  }

  /** The index of the chunk that holds `key` if present: the last chunk whose first key is <= key (0 if none). */
  private chunkFor(key: K): number {
    const chunks = this.chunks
    let lo = 0
    let hi = chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.compare(chunks[mid]!.keys[0]!, key) <= 0) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** The first position in `keys` whose key is >= `key`. */
  private lowerBound(keys: ReadonlyArray<K>, key: K): number {
    let lo = 0
    let hi = keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.compare(keys[mid]!, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  get(key: K): V | undefined {
    if (this.count === 0) return undefined
    const chunk = this.chunks[this.chunkFor(key)]!
    const i = this.lowerBound(chunk.keys, key)
    return i < chunk.keys.length && this.compare(chunk.keys[i]!, key) === 0 ? chunk.values[i] : undefined
  }

  has(key: K): boolean {
    if (this.count === 0) return false
    const chunk = this.chunks[this.chunkFor(key)]!
    const i = this.lowerBound(chunk.keys, key)
    return i < chunk.keys.length && this.compare(chunk.keys[i]!, key) === 0
  }

  /** Inserts or replaces; returns true if `key` is new. */
  set(key: K, value: V): boolean {
    if (this.count === 0) {
      this.chunks.push({ keys: [key], values: [value] })
      this.count = 1
      return true
    }
    const c = this.chunkFor(key)
    const chunk = this.chunks[c]!
    const i = this.lowerBound(chunk.keys, key)
    if (i < chunk.keys.length && this.compare(chunk.keys[i]!, key) === 0) {
      chunk.values[i] = value
      return false
    }
    chunk.keys.splice(i, 0, key)
    chunk.values.splice(i, 0, value)
    this.count++
    if (chunk.keys.length > this.maxChunk) {
      const half = chunk.keys.length >>> 1
      this.chunks.splice(c + 1, 0, { keys: chunk.keys.splice(half), values: chunk.values.splice(half) })
    }
    return true
  }

  /** Removes `key`; returns true if it was there. */
  delete(key: K): boolean {
    if (this.count === 0) return false
    const c = this.chunkFor(key)
    const chunk = this.chunks[c]!
    const i = this.lowerBound(chunk.keys, key)
    if (i === chunk.keys.length || this.compare(chunk.keys[i]!, key) !== 0) return false
    chunk.keys.splice(i, 1)
    chunk.values.splice(i, 1)
    this.count--
    if (chunk.keys.length === 0) {
      this.chunks.splice(c, 1)
    } else if (chunk.keys.length < this.maxChunk >>> 2 && c + 1 < this.chunks.length) {
      // Keep chunks dense so that deleting most keys does not leave thousands of tiny chunks.
      const next = this.chunks[c + 1]!
      if (chunk.keys.length + next.keys.length <= this.maxChunk) {
        for (let j = 0; j < next.keys.length; j++) {
          chunk.keys.push(next.keys[j]!)
          chunk.values.push(next.values[j]!)
        }
        this.chunks.splice(c + 1, 1)
      }
    }
    return true
  }

  /**
   * Entries with start <= key < end in key order (start undefined = from the
   * first key, end undefined = to the last). Do not modify the map while
   * iterating.
   */
  *range(start: K | undefined, end: K | undefined): Generator<readonly [K, V], void, undefined> {
    if (this.count === 0) return
    let c = start === undefined ? 0 : this.chunkFor(start)
    let i = start === undefined ? 0 : this.lowerBound(this.chunks[c]!.keys, start)
    for (; c < this.chunks.length; c++, i = 0) {
      const { keys, values } = this.chunks[c]!
      for (; i < keys.length; i++) {
        const key = keys[i]!
        if (end !== undefined && this.compare(key, end) >= 0) return
        yield [key, values[i]!]
      }
    }
  }

  entries(): Generator<readonly [K, V], void, undefined> {
    return this.range(undefined, undefined)
  }

  /** Appends a key greater than every key in the map (bulk loading from sorted input, e.g. a snapshot). */
  append(key: K, value: V): void {
    const last = this.chunks[this.chunks.length - 1]
    if (last === undefined || last.keys.length >= this.maxChunk) {
      assert(
        last === undefined || this.compare(last.keys[last.keys.length - 1]!, key) < 0,
        "append: keys out of order"
      )
      this.chunks.push({ keys: [key], values: [value] })
    } else {
      assert(this.compare(last.keys[last.keys.length - 1]!, key) < 0, "append: keys out of order")
      last.keys.push(key)
      last.values.push(value)
    }
    this.count++
  }

  /** The largest key, if any. */
  lastKey(): K | undefined {
    const last = this.chunks[this.chunks.length - 1]
    return last === undefined ? undefined : last.keys[last.keys.length - 1]
  }

  /** Checks the structure's invariants (tests and debugging; O(n)). */
  checkInvariants(): void {
    let total = 0
    let previous: K | undefined = undefined
    for (const chunk of this.chunks) {
      assert(chunk.keys.length > 0 && chunk.keys.length <= this.maxChunk, "chunk size out of bounds")
      assert(chunk.keys.length === chunk.values.length, "chunk keys and values differ in length")
      for (const key of chunk.keys) {
        assert(previous === undefined || this.compare(previous, key) < 0, "keys out of order")
        previous = key
      }
      total += chunk.keys.length
    }
    assert(total === this.count, "size does not match the chunks")
  }
}
