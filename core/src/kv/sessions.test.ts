import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { InvariantViolation } from "../invariant/invariant.ts"
import { RaftDecodeError } from "../codec/decode-error.ts"
import { Reader } from "../codec/reader.ts"
import { Writer } from "../codec/writer.ts"
import { SessionTable } from "./sessions.ts"

const roundTrip = (t: SessionTable, appliedIndex: number): SessionTable => {
  const w = new Writer()
  t.write(w)
  const r = new Reader(w.finish())
  const back = SessionTable.read(r, appliedIndex)
  r.done()
  return back
}

describe("SessionTable", () => {
  it("classifies seqs as apply, duplicate (with the cached result) or stale", () => {
    const t = new SessionTable()
    expect(t.check("c", 3)).toEqual({ kind: "apply" })
    t.record("c", 3, 1, { type: "put", revision: 1 })
    expect(t.check("c", 3)).toEqual({ kind: "duplicate", result: { type: "put", revision: 1 } })
    expect(t.check("c", 2)).toEqual({ kind: "stale", last: 3 })
    expect(t.check("c", 4)).toEqual({ kind: "apply" })
    expect(t.check("other", 0)).toEqual({ kind: "apply" })
  })

  it("evicts exactly the least recently used session, whatever the order of uses", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 200 }), fc.integer({ min: 1, max: 6 }), (uses, capacity) => {
        const t = new SessionTable(capacity)
        const model: Array<string> = [] // least recently used first
        uses.forEach((client, i) => {
          const id = `c${client}`
          t.record(id, i, i + 1, undefined)
          const at = model.indexOf(id)
          if (at >= 0) model.splice(at, 1)
          else if (model.length === capacity) model.shift()
          model.push(id)
          expect(t.clients()).toEqual(model)
        })
      })
    )
  })

  it("round-trips through the snapshot encoding, order and results included", () => {
    const t = new SessionTable(3)
    t.record("a", 1, 1, { type: "put", revision: 1 })
    t.record("b", 7, 2, undefined)
    t.record("c", 2, 4, { type: "error", code: "key-too-large", message: "m" })
    t.touch("a", 5)
    const back = roundTrip(t, 5)
    expect(back.clients()).toEqual(["b", "c", "a"])
    expect(back.capacity).toBe(3)
    expect(back.check("a", 1)).toEqual({ kind: "duplicate", result: { type: "put", revision: 1 } })
    expect(back.check("b", 7)).toEqual({ kind: "duplicate", result: undefined })
    // A session used after the snapshot's applied index is inconsistent.
    expect(() => roundTrip(t, 4)).toThrow(RaftDecodeError)
  })

  it("asserts that uses come in increasing index order", () => {
    const t = new SessionTable()
    t.record("a", 1, 5, undefined)
    expect(() => t.record("b", 1, 5, undefined)).toThrow(InvariantViolation)
  })
})
