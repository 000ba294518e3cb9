import { describe, expect, it } from "vitest"
import { nodeId } from "../../node/node-id.ts"
import { encodeMarker, type MarkerType } from "../control-batch.ts"
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, encodeBatch } from "../record-batch.ts"
import { encodePartitionCommand } from "./partition-command.ts"
import { PartitionMachine } from "./partition-machine.ts"
import { decodePartitionImage, encodePartitionImage } from "./partition-snapshot.ts"
import { PartitionTxns } from "./partition-txns.ts"

const record = (i: number) => ({ attributes: 0, timestampDelta: 0, offsetDelta: i, key: null, value: Uint8Array.of(i), headers: [] })
/** `n` records of producer `id` at `epoch` from sequence `seq`, transactional unless said otherwise. */
const data = (n: number, id: number, epoch: number, seq: number, transactional = true) =>
  encodeBatch({
    attributes: transactional ? ATTR_TRANSACTIONAL : 0,
    baseTimestamp: 5,
    records: Array.from({ length: n }, (_, i) => record(i)),
    producerId: id,
    producerEpoch: epoch,
    baseSequence: seq
  })
const marker = (id: number, epoch: number, type: MarkerType) => encodeMarker({ producerId: id, producerEpoch: epoch, type }, 5)
let nextKey = 1
const command = (b: Uint8Array) => encodePartitionCommand({ op: "append", origin: nodeId("n1"), key: `k${nextKey++}`, batch: b })
const apply = (m: PartitionMachine, b: Uint8Array) => m.apply(command(b)).outcome

describe("a partition's transactions", () => {
  it("hold the last stable offset at the oldest open transaction's first offset", () => {
    const t = new PartitionTxns()
    expect(t.lastStableOffset(10)).toBe(10)
    t.onData(1, 4)
    t.onData(2, 6)
    t.onData(1, 8) // already open: its first offset stays 4
    expect(t.lastStableOffset(10)).toBe(4)
    t.onMarker(1, true, 9)
    expect(t.lastStableOffset(11)).toBe(6)
    t.onMarker(2, false, 11)
    expect(t.lastStableOffset(12)).toBe(12)
    expect(t.abortedIn(0, 12)).toEqual([{ producerId: 2, firstOffset: 6, lastOffset: 11 }])
    expect(t.abortedIn(12, 20)).toEqual([])
    expect(t.abortedIn(0, 6)).toEqual([])
  })

  it("a marker for a producer with nothing open here closes nothing and aborts nothing", () => {
    const t = new PartitionTxns()
    t.onMarker(3, false, 5)
    expect(t.state()).toEqual({ open: [], aborted: [] })
  })
})

describe("the partition state machine with transactions", () => {
  it("opens a transaction with a transactional batch and closes it with a marker; an abort is indexed", () => {
    const m = new PartitionMachine(1 << 20)
    expect(apply(m, data(1, 9, 0, 0, false))).toMatchObject({ kind: "appended", baseOffset: 0 }) // plain idempotent
    expect(apply(m, data(2, 1, 0, 0))).toMatchObject({ kind: "appended", baseOffset: 1, lastOffset: 2 })
    expect(apply(m, data(2, 2, 0, 0))).toMatchObject({ kind: "appended", baseOffset: 3, lastOffset: 4 })
    expect(m.txns.lastStableOffset(m.nextOffset)).toBe(1)
    expect(apply(m, marker(1, 0, "commit"))).toMatchObject({ kind: "appended", baseOffset: 5, lastOffset: 5 })
    expect(m.txns.lastStableOffset(m.nextOffset)).toBe(3)
    expect(apply(m, marker(2, 0, "abort"))).toMatchObject({ kind: "appended", baseOffset: 6 })
    expect(m.txns.lastStableOffset(m.nextOffset)).toBe(7)
    expect(m.txns.abortedIn(0, 7)).toEqual([{ producerId: 2, firstOffset: 3, lastOffset: 6 }])
    // The producer goes on in the same epoch with its next sequence: a new transaction.
    expect(apply(m, data(1, 2, 0, 2))).toMatchObject({ kind: "appended", baseOffset: 7 })
    expect(m.txns.lastStableOffset(m.nextOffset)).toBe(7)
  })

  it("a marker with a newer epoch fences the old epoch and restarts the producer's sequences", () => {
    const m = new PartitionMachine(1 << 20)
    apply(m, data(1, 4, 3, 0))
    expect(apply(m, marker(4, 4, "abort"))).toMatchObject({ kind: "appended", baseOffset: 1 })
    expect(apply(m, data(1, 4, 3, 1))).toMatchObject({ kind: "refused", reason: "fenced" })
    expect(apply(m, marker(4, 3, "commit"))).toMatchObject({ kind: "refused", reason: "fenced" })
    expect(apply(m, data(1, 4, 4, 0))).toMatchObject({ kind: "appended", baseOffset: 2 })
    expect(m.txns.abortedIn(0, 3)).toEqual([{ producerId: 4, firstOffset: 0, lastOffset: 1 }])
  })

  it("refuses a control batch that is not a marker", () => {
    const m = new PartitionMachine(1 << 20)
    const bogus = encodeBatch({ attributes: ATTR_CONTROL, baseTimestamp: 5, producerId: 1, producerEpoch: 0, baseSequence: -1, records: [record(0)] })
    expect(apply(m, bogus)).toMatchObject({ kind: "refused", reason: "invalid-batch" })
    expect(m.nextOffset).toBe(0)
  })

  it("a snapshot keeps the open and aborted transactions: a restored machine computes the same offsets", () => {
    const m = new PartitionMachine(1 << 20)
    apply(m, data(1, 1, 0, 0))
    apply(m, marker(1, 0, "abort"))
    apply(m, data(1, 2, 0, 0))
    const image = decodePartitionImage(encodePartitionImage({ ...m.state(), logStartOffset: 0, tailFrom: m.nextOffset, tail: [] }))
    const restored = new PartitionMachine(1 << 20)
    restored.restore(image)
    expect(restored.txns.lastStableOffset(restored.nextOffset)).toBe(2)
    expect(restored.txns.abortedIn(0, 3)).toEqual([{ producerId: 1, firstOffset: 0, lastOffset: 1 }])
    apply(restored, marker(2, 0, "commit"))
    expect(restored.txns.lastStableOffset(restored.nextOffset)).toBe(4)
  })
})
