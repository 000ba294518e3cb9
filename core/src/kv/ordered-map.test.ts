import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { InvariantViolation } from "../invariant/invariant.ts"
import { compareKeys, utf8Length } from "./keys.ts"
import { OrderedMap } from "./ordered-map.ts"

/** The reference: a sorted JS array of [key, value] pairs, searched linearly. */
class Reference {
  items: Array<[string, number]> = []
  set(key: string, value: number): boolean {
    const i = this.items.findIndex(([k]) => compareKeys(k, key) >= 0)
    if (i >= 0 && this.items[i]![0] === key) {
      this.items[i] = [key, value]
      return false
    }
    this.items.splice(i < 0 ? this.items.length : i, 0, [key, value])
    return true
  }
  delete(key: string): boolean {
    const i = this.items.findIndex(([k]) => k === key)
    if (i < 0) return false
    this.items.splice(i, 1)
    return true
  }
  range(start: string | undefined, end: string | undefined): Array<[string, number]> {
    return this.items.filter(
      ([k]) => (start === undefined || compareKeys(k, start) >= 0) && (end === undefined || compareKeys(k, end) < 0)
    )
  }
}

// A small alphabet, including a surrogate pair and a character above U+E000, so keys collide and order matters.
const key = fc.array(fc.constantFrom("a", "b", "c", "\uFFFD", "\u{1F600}"), { maxLength: 4 }).map((cs) => cs.join(""))
const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("set" as const), key, value: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), key }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("range" as const),
      start: fc.option(key, { nil: undefined }),
      end: fc.option(key, { nil: undefined })
    })
  }
)

describe("OrderedMap", () => {
  it("agrees with a sorted-array reference on every operation (small chunks, so splits and merges happen)", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 4, max: 8 }), (ops, chunk) => {
        const map = new OrderedMap<string, number>(compareKeys, chunk)
        const ref = new Reference()
        for (const o of ops) {
          if (o.kind === "set") expect(map.set(o.key, o.value)).toBe(ref.set(o.key, o.value))
          else if (o.kind === "delete") expect(map.delete(o.key)).toBe(ref.delete(o.key))
          else expect([...map.range(o.start, o.end)]).toEqual(ref.range(o.start, o.end))
          map.checkInvariants()
          expect(map.size).toBe(ref.items.length)
        }
        expect([...map.entries()]).toEqual(ref.items)
        for (const [k, value] of ref.items) {
          expect(map.get(k)).toBe(value)
          expect(map.has(k)).toBe(true)
        }
        expect(map.get("zz")).toBe(ref.items.find(([k]) => k === "zz")?.[1])
      }),
      { numRuns: 300 }
    )
  })

  it("keeps chunks dense after mass deletion", () => {
    const map = new OrderedMap<string, number>(compareKeys, 8)
    for (let i = 0; i < 1000; i++) map.set(`k${String(i).padStart(4, "0")}`, i)
    for (let i = 0; i < 1000; i++) if (i % 10 !== 0) map.delete(`k${String(i).padStart(4, "0")}`)
    map.checkInvariants()
    expect(map.size).toBe(100)
    // 100 keys in chunks of at most 8: merging keeps the count near 100/8, not near the 125+ chunks split into.
    const chunks = (map as unknown as { chunks: ReadonlyArray<unknown> }).chunks.length
    expect(chunks).toBeLessThan(60)
  })

  it("append bulk-loads sorted keys and asserts their order", () => {
    const map = new OrderedMap<string, number>(compareKeys, 4)
    for (let i = 0; i < 20; i++) map.append(String.fromCharCode(97 + i), i)
    map.checkInvariants()
    expect(map.lastKey()).toBe("t")
    expect(map.get("j")).toBe(9)
    expect(() => map.append("b", 0)).toThrow(InvariantViolation)
  })

  it("checkInvariants detects a broken structure (so the property above can fail)", () => {
    const map = new OrderedMap<string, number>(compareKeys, 4)
    map.set("a", 1)
    map.set("b", 2)
    ;(map as unknown as { chunks: Array<{ keys: Array<string> }> }).chunks[0]!.keys.reverse()
    expect(() => map.checkInvariants()).toThrow(InvariantViolation)
  })
})

describe("key order and size", () => {
  const utf8 = new TextEncoder()
  const bytesCompare = (a: Uint8Array, b: Uint8Array) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
    return a.length - b.length
  }
  const wellFormed = fc.string({ unit: "grapheme", maxLength: 6 })

  it("compareKeys is UTF-8 byte order", () => {
    fc.assert(
      fc.property(wellFormed, wellFormed, (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(bytesCompare(utf8.encode(a), utf8.encode(b))))
      }),
      { numRuns: 2000 }
    )
    // The case where JavaScript's own order is wrong.
    expect("\u{1F600}" < "\uFFFD").toBe(true)
    expect(compareKeys("\u{1F600}", "\uFFFD")).toBeGreaterThan(0)
  })

  it("utf8Length matches TextEncoder, lone surrogates included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 8 }), (s) => {
        expect(utf8Length(s)).toBe(utf8.encode(s).length)
      }),
      { numRuns: 2000 }
    )
  })
})
