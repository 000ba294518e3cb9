/**
 * Interning tables that let models keep their state as a small integer:
 * equality is `===` and the hash is the id, which keeps the search's hot loop
 * cheap. A table lives inside one model instance (one check).
 */
import type { Value } from "../history/op.ts"

/**
 * Distinct history values to dense ids. Arrays and maps compare by content.
 * Strings are found by a polynomial hash that `concat` extends in O(1), so
 * string states built by appends (Porcupine's kv) never get rehashed.
 */
export class ValueTable {
  private readonly ids = new Map<unknown, number>()
  private readonly values: Array<Value> = []
  private readonly hashes: Array<number> = []
  private readonly pows: Array<number> = []
  private readonly strings = new Map<number, number | Array<number>>()

  id(v: Value): number {
    if (typeof v === "string") {
      let h = 0
      let pow = 1
      for (let i = 0; i < v.length; i++) {
        h = (Math.imul(h, BASE) + v.charCodeAt(i)) | 0
        pow = Math.imul(pow, BASE)
      }
      return this.stringId(v, h, pow)
    }
    const key = v !== null && typeof v === "object" ? canonical(v) : v
    let id = this.ids.get(key)
    if (id === undefined) {
      id = this.push(v, 0, 0)
      this.ids.set(key, id)
    }
    return id
  }

  /** The id of string a + string b (null counts as ""). */
  concat(a: number, b: number): number {
    const sa = this.values[a]
    const sb = this.values[b]
    if (typeof sa !== "string" || typeof sb !== "string") {
      return this.id(`${sa === null ? "" : typeof sa === "string" ? sa : canonical(sa!)}${typeof sb === "string" ? sb : canonical(sb!)}`)
    }
    const h = (Math.imul(this.hashes[a]!, this.pows[b]!) + this.hashes[b]!) | 0
    return this.stringId(sa + sb, h, Math.imul(this.pows[a]!, this.pows[b]!))
  }

  value(id: number): Value {
    return this.values[id]!
  }

  private stringId(v: string, h: number, pow: number): number {
    const found = this.strings.get(h)
    if (found === undefined) {
      const id = this.push(v, h, pow)
      this.strings.set(h, id)
      return id
    }
    if (typeof found === "number") {
      if (this.values[found] === v) return found
      const id = this.push(v, h, pow)
      this.strings.set(h, [found, id])
      return id
    }
    for (const id of found) if (this.values[id] === v) return id
    const id = this.push(v, h, pow)
    found.push(id)
    return id
  }

  private push(v: Value, h: number, pow: number): number {
    this.values.push(v)
    this.hashes.push(h)
    this.pows.push(pow)
    return this.values.length - 1
  }
}

const BASE = 0x01000193

/** A JSON text with sorted map keys, so equal values print alike. */
export const canonical = (v: Value): string => {
  if (v === null || typeof v !== "object") return JSON.stringify(v)
  if (Array.isArray(v)) return `[${(v as ReadonlyArray<Value>).map(canonical).join(",")}]`
  const m = v as { readonly [k: string]: Value }
  return `{${Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(m[k]!)}`)
    .join(",")}}`
}

/** Limit on ids so that (id, id) pairs pack exactly into one double. */
const ID_LIMIT = 1 << 26

/**
 * Sequences of value ids as nodes of a trie: node 0 is the empty sequence,
 * `child(node, x)` is node's sequence followed by x. Equal sequences are the
 * same node.
 */
export class SequenceTable {
  private readonly parent: Array<number> = [-1]
  private readonly last: Array<number> = [-1]
  private readonly length: Array<number> = [0]
  private readonly children = new Map<number, number>()
  private readonly memos: Array<Map<number, number>> = []

  static readonly empty = 0

  child(node: number, x: number): number {
    const key = node * ID_LIMIT + x
    let c = this.children.get(key)
    if (c === undefined) {
      c = this.parent.length
      if (c >= ID_LIMIT) throw new RangeError("too many distinct sequences")
      this.parent.push(node)
      this.last.push(x)
      this.length.push(this.length[node]! + 1)
      this.children.set(key, c)
    }
    return c
  }

  of(xs: ReadonlyArray<number>): number {
    let node = 0
    for (const x of xs) node = this.child(node, x)
    return node
  }

  items(node: number): Array<number> {
    const out: Array<number> = new Array(this.length[node]!)
    for (let i = out.length - 1; i >= 0; i--) {
      out[i] = this.last[node]!
      node = this.parent[node]!
    }
    return out
  }

  size(node: number): number {
    return this.length[node]!
  }

  /** Memoises a derived id (`tag` tells derivations apart): f runs once per (node, x >= 0, tag). */
  derive(node: number, x: number, tag: number, f: () => number): number {
    const memo = (this.memos[tag] ??= new Map())
    const key = node * ID_LIMIT + x
    let r = memo.get(key)
    if (r === undefined) {
      r = f()
      memo.set(key, r)
    }
    return r
  }
}
