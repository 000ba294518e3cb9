import { Effect, Exit, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { type Crc32cShape, pureCrc32c } from "../checksum/crc32c-service.ts"
import { crc32c } from "../checksum/crc32c.ts"
import { nodeId, type NodeId } from "../node/node-id.ts"
import { makeBodyRepair, emptyTally } from "./repair-body.ts"
import { makeObjectData, type SimpleBody } from "./object-data.ts"
import { ShardTransferError, type ShardTransfer } from "./shard-transfer.ts"

const nodes = ["n1", "n2", "n3"].map((id) => ({ id, domain: id }))

/** Shards in a map, as the shard stores would hold them (each store's own checksum is not modelled: a store-valid but wrong copy). */
const memoryTransfer = () => {
  const shards = new Map<string, Uint8Array>()
  const key = (node: NodeId, id: string) => `${node}/${id}`
  const transfer: ShardTransfer = {
    put: (node, id, data) => Effect.sync(() => void shards.set(key(node, id), data.slice())),
    get: (node, id) => {
      const data = shards.get(key(node, id))
      return data === undefined ? Effect.fail(new ShardTransferError({ node, id, reason: "not-found", message: `${id} not on ${node}` })) : Effect.succeed(data.slice())
    },
    remove: (node, id) => Effect.sync(() => void shards.delete(key(node, id))),
    onFrame: () => Effect.void
  }
  const flipByte = (node: string, id: string, at: number) => {
    const data = shards.get(key(nodeId(node), id))!
    data[at]! ^= 0x01
  }
  return { transfer, flipByte }
}

/** The pure CRC32C, counting the bytes it checksums: shows the data path goes through the service it was given. */
const counting = () => {
  const seen = { bytes: 0 }
  const shape: Crc32cShape = {
    implementation: "counting",
    crc32cUpdate: (crc, data, start = 0, end = data.length) => {
      seen.bytes += end - start
      return pureCrc32c.crc32cUpdate(crc, data, start, end)
    },
    crc32c: (data, start = 0, end = data.length) => {
      seen.bytes += end - start
      return pureCrc32c.crc32c(data, start, end)
    }
  }
  return { shape, seen }
}

const body = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7 + 3) & 255)

const setup = () => {
  const store = memoryTransfer()
  const checksum = counting()
  const data = makeObjectData({
    transfer: store.transfer,
    nodes: () => nodes,
    scheme: Effect.succeed({ dataShards: 2, parityShards: 1 }),
    checksum: checksum.shape
  })
  const written = Effect.runSync(data.write("b1", Stream.make(body.subarray(0, 6000), body.subarray(6000)), body.length))
  const read = (crc = written.crc32c) => Effect.runSyncExit(Effect.map(Stream.runCollect(data.read(written.body, body.length, { start: 0, end: body.length }, crc)), (chunks) => [...chunks]))
  return { store, checksum, written, read }
}

describe("full copies (replicated bodies) are verified on reads", () => {
  it("a 10 000-byte body is two copies, its CRC32C computed through the service", () => {
    const { written, checksum } = setup()
    expect(written.body.kind).toBe("replicated")
    expect(written.crc32c).toBe(crc32c(body))
    expect(checksum.seen.bytes).toBe(body.length)
  })

  it("a copy with a flipped byte is passed over for an intact one", () => {
    const { store, written, read, checksum } = setup()
    const copies = (written.body as Extract<SimpleBody, { kind: "replicated" }>).nodes
    store.flipByte(copies[0]!, "b1.r", 1234)
    const before = checksum.seen.bytes
    const exit = read()
    expect(Exit.isSuccess(exit)).toBe(true)
    const chunks = Exit.isSuccess(exit) ? exit.value : []
    expect(chunks.length).toBe(1)
    expect(chunks[0]).toEqual(body)
    // Both copies were checksummed: the flipped one, then the intact one.
    expect(checksum.seen.bytes - before).toBe(2 * body.length)
  })

  it("fails with ObjectDataError when every copy has a flipped byte", () => {
    const { store, written, read } = setup()
    for (const node of (written.body as Extract<SimpleBody, { kind: "replicated" }>).nodes) store.flipByte(node, "b1.r", 9_999)
    const exit = read()
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
    expect(error?._tag).toBe("ObjectDataError")
    expect(error?.message).toMatch(/CRC32C does not match/)
  })

  it("an intact copy read against the wrong CRC is refused too (the check compares with the record)", () => {
    const { written, read } = setup()
    expect(Exit.isSuccess(read())).toBe(true)
    expect(Exit.isFailure(read((written.crc32c ^ 1) >>> 0))).toBe(true)
  })

  it("repair finds the flipped copy bad and rewrites it from the intact one", () => {
    const { store, written, read } = setup()
    const replicated = written.body as Extract<SimpleBody, { kind: "replicated" }>
    store.flipByte(replicated.nodes[1]!, "b1.r", 5)
    const tally = emptyTally()
    const { repairBody } = makeBodyRepair({
      transfer: store.transfer,
      members: nodes,
      tally,
      overdue: () => Effect.succeed(false),
      answered: () => {},
      checksum: pureCrc32c
    })
    Effect.runSync(repairBody(replicated, body.length, written.crc32c))
    expect(tally.shardsRebuilt).toBe(1)
    expect(tally.rebuiltFrom).toEqual([replicated.nodes[1]])
    // Now both copies are intact: flipping the first leaves the repaired second to read.
    store.flipByte(replicated.nodes[0]!, "b1.r", 5)
    expect(Exit.isSuccess(read())).toBe(true)
  })
})
