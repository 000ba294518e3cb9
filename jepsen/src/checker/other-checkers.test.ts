/** The set, counter and durability checkers on small hand-written histories. */
import { describe, expect, it } from "vitest"
import { parseDsl } from "../history/dsl.ts"
import type { Value } from "../history/op.ts"
import { checkCounter } from "./counter.ts"
import { checkDurability } from "./durability.ts"
import { checkSet } from "./set.ts"

describe("set checker", () => {
  const adds = `0 invoke add 1
                0 ok add 1
                1 invoke add 2
                1 info add 2
                2 invoke add 3
                2 fail add 3
                3 invoke add 4
                3 ok add 4`
  it("valid when every acknowledged add is read; a crashed add may be recovered", () => {
    const r = checkSet(parseDsl(`${adds}\n9 invoke read\n9 ok read #{1 2 4}`))
    expect(r.verdict).toBe("valid")
    expect(r.recovered).toEqual([2])
    expect(r.acknowledged).toBe(2)
  })
  it("reports a lost element", () => {
    const r = checkSet(parseDsl(`${adds}\n9 invoke read\n9 ok read #{1}`))
    expect(r.verdict).toBe("invalid")
    expect(r.lost).toEqual([4])
  })
  it("reports an unexpected element (a failed add that appears, or one never added)", () => {
    const r = checkSet(parseDsl(`${adds}\n9 invoke read\n9 ok read #{1 3 4 7}`))
    expect(r.verdict).toBe("invalid")
    expect(r.unexpected).toEqual([3, 7])
  })
  it("reports a duplicated element", () => {
    const r = checkSet(parseDsl(`${adds}\n9 invoke read\n9 ok read [1 4 4]`))
    expect(r.verdict).toBe("invalid")
    expect(r.duplicated).toEqual([4])
  })
  it("is unknown without a final read", () => {
    expect(checkSet(parseDsl(adds)).verdict).toBe("unknown")
  })
})

describe("counter checker", () => {
  const h = (read: number, second = 3) =>
    parseDsl(`0 invoke add 1
              0 ok add 1
              1 invoke add 2
              2 invoke read
              2 ok read ${read}
              1 info add 2
              3 invoke read
              3 ok read ${second}`)
  it("accepts reads between acknowledged and attempted sums", () => {
    expect(checkCounter(h(1)).verdict).toBe("valid")
    expect(checkCounter(h(3)).verdict).toBe("valid")
  })
  it("rejects a read below what was acknowledged or above what was attempted", () => {
    expect(checkCounter(h(0)).errors[0]?.kind).toBe("out-of-bounds")
    expect(checkCounter(h(4)).verdict).toBe("invalid")
  })
  it("with monotonic, rejects a later read seeing less", () => {
    expect(checkCounter(h(3, 1)).verdict).toBe("valid")
    const r = checkCounter(h(3, 1), { monotonic: true })
    expect(r.verdict).toBe("invalid")
    expect(r.errors[0]?.kind).toBe("went-backwards")
  })
})

describe("durability checker", () => {
  const h = parseDsl(`0 invoke write [a 1]
                      0 ok write [a 1]
                      0 invoke write [a 2]
                      1 invoke write [a 3]
                      0 ok write [a 2]
                      1 info write [a 3]
                      2 invoke append [l x]
                      2 ok append [l x]
                      2 invoke append [l y]
                      2 ok append [l y]`)
  it("valid when the final state holds the last acknowledged write (or a concurrent one) and every appended element", () => {
    expect(checkDurability(h, new Map<string, Value>([["a", 2], ["l", ["x", "y"]]])).verdict).toBe("valid")
    expect(checkDurability(h, new Map<string, Value>([["a", 3], ["l", ["y", "x", "z"]]])).verdict).toBe("valid")
  })
  it("reports a register that went back to an overwritten value", () => {
    const r = checkDurability(h, new Map<string, Value>([["a", 1], ["l", ["x", "y"]]]))
    expect(r.verdict).toBe("invalid")
    expect(r.lost).toEqual([{ key: "a", value: 2, index: 2, found: 1 }])
  })
  it("reports a missing key and a missing element", () => {
    const r = checkDurability(h, new Map<string, Value>([["l", ["x"]]]))
    expect(r.lost.map((l) => [l.key, l.value])).toEqual([
      ["a", 2],
      ["l", "y"]
    ])
  })
})
