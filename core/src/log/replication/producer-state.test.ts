import { describe, expect, it } from "vitest"
import { lastSequence, nextSequence, PRODUCER_WINDOW, ProducerTable } from "./producer-state.ts"

const batchAt = (firstSeq: number, count: number, baseOffset: number) => ({
  firstSeq,
  lastSeq: lastSequence(firstSeq, count),
  baseOffset,
  lastOffset: baseOffset + count - 1
})

describe("idempotent producer rules", () => {
  it("accept a new producer only from sequence 0, then only the next sequence", () => {
    const t = new ProducerTable()
    expect(t.check(1, 0, 3, 3)).toEqual({ kind: "out-of-order", expected: 0 })
    expect(t.check(1, 0, 0, 1)).toEqual({ kind: "append" })
    t.record(1, 0, batchAt(0, 2, 10))
    expect(t.check(1, 0, 2, 2)).toEqual({ kind: "append" })
    expect(t.check(1, 0, 3, 3)).toEqual({ kind: "out-of-order", expected: 2 })
  })

  it("answer a retry within the window with its first offsets, and forget batches beyond it", () => {
    const t = new ProducerTable()
    for (let i = 0; i < PRODUCER_WINDOW + 2; i++) t.record(1, 0, batchAt(i, 1, 100 + i))
    expect(t.check(1, 0, PRODUCER_WINDOW + 1, PRODUCER_WINDOW + 1)).toEqual({ kind: "duplicate", baseOffset: 100 + PRODUCER_WINDOW + 1, lastOffset: 100 + PRODUCER_WINDOW + 1 })
    expect(t.check(1, 0, 2, 2)).toEqual({ kind: "duplicate", baseOffset: 102, lastOffset: 102 })
    // Older than the window: no longer recognised, and not the next sequence either.
    expect(t.check(1, 0, 1, 1).kind).toBe("out-of-order")
    // A retry must match the whole batch: the same first sequence with another length is not a duplicate.
    expect(t.check(1, 0, 2, 3).kind).toBe("out-of-order")
  })

  it("fence an older epoch and let a newer one start over at 0", () => {
    const t = new ProducerTable()
    t.record(1, 3, batchAt(0, 1, 0))
    expect(t.check(1, 2, 1, 1)).toEqual({ kind: "fenced", currentEpoch: 3 })
    expect(t.check(1, 4, 1, 1)).toEqual({ kind: "out-of-order", expected: 0 })
    expect(t.check(1, 4, 0, 0)).toEqual({ kind: "append" })
    t.record(1, 4, batchAt(0, 1, 1))
    expect(t.entry(1)?.batches).toHaveLength(1)
    expect(t.check(1, 3, 1, 1)).toEqual({ kind: "fenced", currentEpoch: 4 })
  })

  it("wrap sequences at 2^31", () => {
    const max = 2 ** 31 - 1
    expect(nextSequence(max)).toBe(0)
    expect(lastSequence(max, 2)).toBe(0)
    const t = new ProducerTable()
    t.record(1, 0, batchAt(0, 10, 0))
    t.record(1, 0, { firstSeq: 10, lastSeq: max, baseOffset: 10, lastOffset: max })
    expect(t.check(1, 0, 0, 0)).toEqual({ kind: "append" })
    expect(t.check(1, 0, 1, 1)).toEqual({ kind: "out-of-order", expected: 0 })
  })
})
