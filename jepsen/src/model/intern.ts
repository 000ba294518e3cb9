/**
 * Interning tables that let models keep their state as a small integer:
 * equality is `===` and the hash is the id, which keeps the search's hot loop
 * cheap. A table lives inside one model instance (one check).
 */
import type { Value } from "../history/op.ts"

/** Distinct history values to dense ids. Arrays and maps compare by content. */
export class ValueTable {
  private readonly ids = new Map<unknown, number>()
  private readonly values: Array<Value> = []

  id(v: Value): number {
    const key = v !== null && typeof v === "object" ? `\u0000${canonical(v)}` : v
    let id = this.ids.get(key)
    if (id === undefined) {
      id = this.values.length
      this.ids.set(key, id)
      this.values.push(v)
    }
    return id
  }

  value(id: number): Value {
    return this.values[id]!
  }
}

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
