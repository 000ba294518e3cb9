import { describe, expect, it } from "vitest"
import { addOffsets, addPartitions, commitOffsets, completed, endTxn, initProducer, MAX_EPOCH, timeOut, type TxnStep, verifyPartitions } from "./txn-machine.ts"
import { decodeTxnRecord, encodeTxnRecord, type TxnRecord } from "./txn-record.ts"

const init = (r: TxnRecord | undefined, freshId?: number) => initProducer(r, { timeoutMs: 60_000, current: undefined, freshId })
/** The record a step stores (it must store one). */
const next = (s: TxnStep): TxnRecord => {
  expect(s.error).toBeUndefined()
  expect(s.next).toBeDefined()
  return s.next!
}
const p = (topic: string, partition: number) => ({ topic, partition })

describe("the transaction coordinator's state machine", () => {
  it("a first InitProducerId takes a fresh producer id at epoch 0; the next ones bump the epoch", () => {
    const a = next(init(undefined, 7))
    expect(a).toMatchObject({ producerId: 7, epoch: 0, status: "Empty" })
    const b = next(init(a))
    expect(b).toMatchObject({ producerId: 7, epoch: 1, status: "Empty" })
    expect(next(init({ ...b, epoch: MAX_EPOCH }, 8))).toMatchObject({ producerId: 8, epoch: 0 })
    expect(initProducer(undefined, { timeoutMs: 0, current: undefined, freshId: 7 }).error).toBe("invalid-timeout")
  })

  it("commits: partitions and offsets gather in Ongoing, EndTxn stores PrepareCommit, then CompleteCommit clears them", () => {
    let r = next(init(undefined, 1))
    r = next(addPartitions(r, 1, 0, [p("b", 1), p("a", 0)]))
    expect(r.status).toBe("Ongoing")
    expect(addPartitions(r, 1, 0, [p("a", 0)]).next).toBeUndefined() // already there: nothing to store
    r = next(addPartitions(r, 1, 0, [p("a", 2)]))
    expect(r.partitions).toEqual([p("a", 0), p("a", 2), p("b", 1)])
    // VerifyOnly (v4+) answers whether partitions are in the transaction and adds nothing.
    expect(verifyPartitions(r, 1, 0, [p("a", 2)])).toEqual({ next: undefined, error: undefined, complete: false })
    expect(verifyPartitions(r, 1, 0, [p("c", 0)]).error).toBe("invalid-state")
    expect(commitOffsets(r, 1, 0, [{ group: "g", topic: "a", partition: 0, offset: 5, metadata: "" }]).error).toBe("invalid-state") // group not added
    r = next(addOffsets(r, 1, 0, "g"))
    r = next(commitOffsets(r, 1, 0, [{ group: "g", topic: "a", partition: 0, offset: 5, metadata: "" }]))
    r = next(commitOffsets(r, 1, 0, [{ group: "g", topic: "a", partition: 0, offset: 9, metadata: "m" }]))
    expect(r.offsets).toEqual([{ group: "g", topic: "a", partition: 0, offset: 9, metadata: "m" }])
    const end = endTxn(r, 1, 0, true)
    expect(end.complete).toBe(true)
    const decided = next(end)
    expect(decided.status).toBe("PrepareCommit")
    // While the markers are written the producer cannot start the next transaction.
    expect(addPartitions(decided, 1, 0, [p("c", 0)]).error).toBe("concurrent")
    // A retry of EndTxn finishes the same decision; the opposite one is refused.
    expect(endTxn(decided, 1, 0, true)).toEqual({ next: undefined, error: undefined, complete: true })
    expect(endTxn(decided, 1, 0, false).error).toBe("invalid-state")
    const done = next(completed(decided, decided))
    expect(done).toMatchObject({ status: "CompleteCommit", partitions: [], offsets: [], groups: [] })
    expect(endTxn(done, 1, 0, true)).toEqual({ next: undefined, error: undefined, complete: false })
    // The next transaction starts from nothing.
    expect(next(addPartitions(done, 1, 0, [p("c", 0)])).partitions).toEqual([p("c", 0)])
  })

  it("fences an old epoch and refuses another producer id", () => {
    const r = next(init(next(init(undefined, 1))))
    expect(addPartitions(r, 1, 0, [p("a", 0)]).error).toBe("fenced")
    expect(addPartitions(r, 2, 1, [p("a", 0)]).error).toBe("invalid-mapping")
    expect(endTxn(undefined, 1, 1, true).error).toBe("invalid-mapping")
    expect(endTxn(r, 1, 1, false).error).toBe("invalid-state") // nothing open
    expect(initProducer(r, { timeoutMs: 1000, current: { producerId: 1, epoch: 0 }, freshId: undefined }).error).toBe("fenced")
    expect(next(initProducer(r, { timeoutMs: 1000, current: { producerId: 1, epoch: 1 }, freshId: undefined })).epoch).toBe(2)
  })

  it("a new InitProducerId aborts the open transaction at a bumped epoch before it answers", () => {
    const open = next(addPartitions(next(init(undefined, 3)), 3, 0, [p("a", 0)]))
    const step = init(open)
    expect(step.complete).toBe(true)
    const aborting = next(step)
    expect(aborting).toMatchObject({ status: "PrepareAbort", epoch: 1, partitions: [p("a", 0)] })
    // Until the markers are written, InitProducerId only asks for them.
    expect(init(aborting)).toEqual({ next: undefined, error: undefined, complete: true })
    const aborted = next(completed(aborting, aborting))
    expect(next(init(aborted))).toMatchObject({ producerId: 3, epoch: 2, status: "Empty" })
    // The old producer (epoch 0) is fenced everywhere.
    expect(endTxn(aborted, 3, 0, true).error).toBe("fenced")
  })

  it("a timeout aborts only the transaction it was measured for", () => {
    const open = next(addPartitions(next(init(undefined, 4)), 4, 0, [p("a", 0)]))
    expect(timeOut(open, 4, 1).next).toBeUndefined()
    const aborting = next(timeOut(open, 4, 0))
    expect(aborting).toMatchObject({ status: "PrepareAbort", epoch: 1 })
    expect(timeOut(aborting, 4, 1).next).toBeUndefined()
    expect(endTxn(aborting, 4, 0, true).error).toBe("fenced")
  })

  it("completion applies only to the decision it finished", () => {
    const decided = next(endTxn(next(addPartitions(next(init(undefined, 5)), 5, 0, [p("a", 0)])), 5, 0, false))
    expect(completed(decided, { ...decided, epoch: 9 }).next).toBeUndefined()
    expect(completed(decided, { ...decided, status: "PrepareCommit" }).next).toBeUndefined()
    expect(next(completed(decided, decided)).status).toBe("CompleteAbort")
  })

  it("records round-trip, and bytes that are not a record are refused", () => {
    const r = next(commitOffsets(next(addOffsets(next(addPartitions(next(init(undefined, 6)), 6, 0, [p("t", 3)])), 6, 0, "g")), 6, 0, [
      { group: "g", topic: "t", partition: 3, offset: 12, metadata: "x" }
    ]))
    expect(decodeTxnRecord(encodeTxnRecord(r))).toEqual(r)
    expect(decodeTxnRecord(new TextEncoder().encode("{\"v\":1}"))).toBeUndefined()
    expect(decodeTxnRecord(new TextEncoder().encode(JSON.stringify({ v: 1, ...r, status: "Dead" })))).toBeUndefined()
    expect(decodeTxnRecord(Uint8Array.of(0xff))).toBeUndefined()
  })
})
