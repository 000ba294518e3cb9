import { describe, expect, it } from "vitest"
import { RaftDecodeError } from "../../codec/decode-error.ts"
import { nodeId } from "../../node/node-id.ts"
import { encodeBatch, withBaseOffset } from "../record-batch.ts"
import { encodePartitionCommand } from "./partition-command.ts"
import { PartitionMachine } from "./partition-machine.ts"
import { decodePartitionImage, encodePartitionImage, type PartitionImage } from "./partition-snapshot.ts"
import { NO_TXNS } from "./partition-txns.ts"

const batch = (value: number, producer?: { readonly id: number; readonly epoch: number; readonly seq: number }) =>
  encodeBatch({
    baseTimestamp: 5,
    records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: Uint8Array.of(value), headers: [] }],
    ...(producer === undefined ? {} : { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.seq })
  })
const command = (b: Uint8Array, key: string) => encodePartitionCommand({ op: "append", origin: nodeId("n1"), key, batch: b })

/** A history with two idempotent producers, a fenced epoch and plain batches: every part of the state is used. */
const before = [
  command(batch(1, { id: 7, epoch: 0, seq: 0 }), "a"),
  command(batch(2), "b"),
  command(batch(3, { id: 7, epoch: 0, seq: 1 }), "c"),
  command(batch(4, { id: 9, epoch: 2, seq: 0 }), "d"),
  command(batch(5, { id: 7, epoch: 0, seq: 2 }), "e")
]
/** What comes after the snapshot: retries, a copy of a request, the next sequences, an old epoch. */
const after = [
  command(batch(3, { id: 7, epoch: 0, seq: 1 }), "retry-c"),
  command(batch(2), "b"),
  command(batch(6, { id: 7, epoch: 0, seq: 3 }), "f"),
  command(batch(7, { id: 9, epoch: 1, seq: 0 }), "g"),
  command(batch(8, { id: 9, epoch: 2, seq: 1 }), "h"),
  command(batch(9, { id: 7, epoch: 0, seq: 9 }), "i")
]

const outcomes = (m: PartitionMachine) => after.map((c) => m.apply(c).outcome).map((o) => (o.kind === "refused" ? o.reason : `${o.kind}@${o.baseOffset}`))

describe("a partition snapshot", () => {
  it("round-trips its image, tail included", () => {
    const m = new PartitionMachine(1 << 20)
    for (const c of before) m.apply(c)
    const tail = [withBaseOffset(batch(5), 4)]
    const image: PartitionImage = { ...m.state(), logStartOffset: 2, tailFrom: 4, tail }
    const decoded = decodePartitionImage(encodePartitionImage(image))
    expect(decoded).toEqual(image)
  })

  it("restores a machine that decides every later command as the original does", () => {
    const original = new PartitionMachine(1 << 20)
    for (const c of before) original.apply(c)
    const restored = new PartitionMachine(1 << 20)
    restored.restore(decodePartitionImage(encodePartitionImage({ ...original.state(), logStartOffset: 0, tailFrom: 5, tail: [] })))
    const expected = outcomes(original)
    expect(expected).toEqual(["duplicate@2", "duplicate@1", "appended@5", "fenced", "appended@6", "out-of-order"])
    expect(outcomes(restored)).toEqual(expected)
  })

  it("without the producers' state (the planted bug's snapshot), a restored machine decides differently", () => {
    const original = new PartitionMachine(1 << 20)
    for (const c of before) original.apply(c)
    const forgetful = new PartitionMachine(1 << 20)
    forgetful.restore({ ...original.state(), producers: [] })
    expect(outcomes(forgetful)).not.toEqual(outcomes(original))
  })

  it("refuses an image of another version or with its tail above its end", () => {
    const good = encodePartitionImage({ nextOffset: 3, producers: [], requests: [], txns: NO_TXNS, logStartOffset: 0, tailFrom: 3, tail: [] })
    const otherVersion = good.slice()
    otherVersion[0] = 3
    expect(() => decodePartitionImage(otherVersion)).toThrow(RaftDecodeError)
    const bad = encodePartitionImage({ nextOffset: 3, producers: [], requests: [], txns: NO_TXNS, logStartOffset: 0, tailFrom: 4, tail: [] })
    expect(() => decodePartitionImage(bad)).toThrow(RaftDecodeError)
  })
})
