import { describe, expect, it } from "vitest"
import { nodeId } from "../../node/node-id.ts"
import { encodeBatch, Field } from "../record-batch.ts"
import { encodePartitionCommand } from "./partition-command.ts"
import { PartitionMachine } from "./partition-machine.ts"

const record = (value: number) => ({ attributes: 0, timestampDelta: 0, offsetDelta: value, key: null, value: Uint8Array.of(value), headers: [] })
const batch = (n: number, producer?: { readonly id: number; readonly epoch: number; readonly seq: number }) =>
  encodeBatch({
    baseTimestamp: 5,
    records: Array.from({ length: n }, (_, i) => record(i)),
    ...(producer === undefined ? {} : { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.seq })
  })
let nextKey = 1
const command = (b: Uint8Array, key = `k${nextKey++}`) => encodePartitionCommand({ op: "append", origin: nodeId("n1"), key, batch: b })

describe("the partition state machine", () => {
  it("gives batches consecutive offsets and writes the base offset into the stored copy", () => {
    const m = new PartitionMachine(1 << 20)
    const a = m.apply(command(batch(3), "c9/1/9"))
    const b = m.apply(command(batch(2)))
    expect(a.origin).toBe("n1")
    expect(a.key).toBe("c9/1/9")
    expect(a.outcome).toMatchObject({ kind: "appended", baseOffset: 0, lastOffset: 2 })
    expect(b.outcome).toMatchObject({ kind: "appended", baseOffset: 3, lastOffset: 4 })
    const stored = b.outcome.kind === "appended" ? b.outcome.stored : new Uint8Array(0)
    expect(new DataView(stored.buffer).getBigInt64(Field.baseOffset)).toBe(3n)
    expect(m.nextOffset).toBe(5)
  })

  it("refuses damaged and oversized batches without moving the offsets", () => {
    const m = new PartitionMachine(200)
    const damaged = batch(1)
    damaged[damaged.length - 1]! ^= 1
    expect(m.apply(command(damaged)).outcome).toMatchObject({ kind: "refused", reason: "invalid-batch" })
    expect(m.apply(command(batch(40))).outcome).toMatchObject({ kind: "refused", reason: "too-large" })
    expect(m.nextOffset).toBe(0)
  })

  it("applies the same commands to the same outcomes on every replica, duplicates included", () => {
    const commands = [
      command(batch(2, { id: 4, epoch: 0, seq: 0 })),
      command(batch(2, { id: 4, epoch: 0, seq: 0 })),
      command(batch(1)),
      command(batch(1, { id: 4, epoch: 0, seq: 2 })),
      command(batch(1, { id: 4, epoch: 0, seq: 9 })),
      command(batch(1, { id: 5, epoch: 0, seq: -1 }))
    ]
    const outcomes = (m: PartitionMachine) => commands.map((c) => {
      const o = m.apply(c).outcome
      return o.kind === "refused" ? o.reason : `${o.kind}@${o.baseOffset}`
    })
    const first = outcomes(new PartitionMachine(1 << 20))
    expect(first).toEqual(["appended@0", "duplicate@0", "appended@2", "appended@3", "out-of-order", "invalid-batch"])
    expect(outcomes(new PartitionMachine(1 << 20))).toEqual(first)
  })

  it("applies a copy of a request (the same key) once, answering it with the original offsets", () => {
    const m = new PartitionMachine(1 << 20)
    const first = m.apply(command(batch(2), "c1/7"))
    const copy = m.apply(command(batch(2), "c1/7"))
    const other = m.apply(command(batch(2), "c1/8"))
    expect(first.outcome).toMatchObject({ kind: "appended", baseOffset: 0 })
    expect(copy).toMatchObject({ key: "c1/7", outcome: { kind: "duplicate", baseOffset: 0, lastOffset: 1 } })
    expect(other.outcome).toMatchObject({ kind: "appended", baseOffset: 2 })
  })
})
