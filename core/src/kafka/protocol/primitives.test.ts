/**
 * The primitive layer and the encoder's refusals: known encodings of
 * varints from the protocol guide, round trips at the edges of each range,
 * and values a version cannot carry.
 */
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeBatch } from "../../log/record-batch.ts"
import { kafkaApis } from "./api-table.ts"
import { KafkaDecodeError, KafkaEncodeError } from "./errors.ts"
import { defaultDecodeLimits } from "./limits.ts"
import { encodeMessage } from "./message-codec.ts"
import { KafkaReader } from "./reader.ts"
import { recordBatches } from "./records.ts"
import { KafkaWriter } from "./writer.ts"

const written = (write: (w: KafkaWriter) => void): Uint8Array => {
  const w = new KafkaWriter()
  write(w)
  return w.finish()
}
const reader = (bytes: Uint8Array) => new KafkaReader(bytes, defaultDecodeLimits)

describe("varints", () => {
  it("match the protocol guide's examples", () => {
    expect(written((w) => w.uvarint(300))).toEqual(Uint8Array.from([0xac, 0x02]))
    expect(written((w) => w.uvarint(0xffff_ffff))).toEqual(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]))
    expect(written((w) => w.varint(-1))).toEqual(Uint8Array.from([0x01]))
    expect(written((w) => w.varint(1))).toEqual(Uint8Array.from([0x02]))
    expect(written((w) => w.varint(-64))).toEqual(Uint8Array.from([0x7f]))
  })

  it("round-trip over their whole ranges", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.maxSafeInteger(), (u, v, l) => {
        const r = reader(written((w) => { w.uvarint(u); w.varint(v); w.varint(l, true) }))
        expect([r.uvarint(), r.varint(), r.varint(true)]).toEqual([u, v, l])
        expect(r.remaining()).toBe(0)
      })
    )
  })

  it("refuse an overlong or overflowing varint", () => {
    expect(() => reader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x1f])).uvarint()).toThrow(KafkaDecodeError)
    expect(() => reader(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).varint()).toThrow(KafkaDecodeError)
    expect(() => reader(Uint8Array.from([0x80])).varint()).toThrow(KafkaDecodeError)
  })
})

describe("fixed-width types", () => {
  it("round-trip at the edges of their ranges", () => {
    const r = reader(
      written((w) => {
        w.int8(-128); w.int16(32767); w.uint16(65535); w.int32(-(2 ** 31)); w.uint32(2 ** 32 - 1)
        w.int64(-(2n ** 63n)); w.float64(-0.5); w.bool(true); w.uuid(Uint8Array.from({ length: 16 }, (_, i) => i))
      })
    )
    expect([r.int8(), r.int16(), r.uint16(), r.int32(), r.uint32(), r.int64(), r.float64(), r.bool()]).toEqual([-128, 32767, 65535, -(2 ** 31), 2 ** 32 - 1, -(2n ** 63n), -0.5, true])
    expect(r.uuid()).toEqual(Uint8Array.from({ length: 16 }, (_, i) => i))
  })

  it("refuse values outside their type", () => {
    expect(() => written((w) => w.int16(32768))).toThrow(KafkaEncodeError)
    expect(() => written((w) => w.int32(1.5))).toThrow(KafkaEncodeError)
    expect(() => written((w) => w.int64(2n ** 63n))).toThrow(KafkaEncodeError)
    expect(() => written((w) => w.string("x".repeat(0x8000), true))).toThrow(KafkaEncodeError)
    expect(() => written((w) => w.uuid(new Uint8Array(15)))).toThrow(KafkaEncodeError)
  })
})

describe("the encoder refuses what a version cannot carry", () => {
  const metadata = { topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }

  it("null where the version has no null", () => {
    expect(Result.isSuccess(encodeMessage(kafkaApis.Metadata.request, 1, metadata))).toBe(true)
    const refused = encodeMessage(kafkaApis.Metadata.request, 0, metadata)
    expect(Result.isFailure(refused) && refused.failure).toBeInstanceOf(KafkaEncodeError)
  })

  it("a non-default value in a field the version lacks, unless the spec marks it ignorable", () => {
    // AllowAutoTopicCreation (v4+) is not ignorable: false cannot be said in v3.
    const refused = encodeMessage(kafkaApis.Metadata.request, 3, { ...metadata, allowAutoTopicCreation: false })
    expect(Result.isFailure(refused) && refused.failure).toBeInstanceOf(KafkaEncodeError)
    // Fetch's IsolationLevel (v4+) is ignorable: a v3 request drops it.
    const fetch = {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1n }, maxWaitMs: 0, minBytes: 0, maxBytes: 1,
      isolationLevel: 1, sessionId: 0, sessionEpoch: -1, topics: [], forgottenTopicsData: [], rackId: ""
    }
    expect(Result.isSuccess(encodeMessage(kafkaApis.Fetch.request, 3, fetch))).toBe(true)
  })
})

describe("records fields", () => {
  const batch = (baseOffset: number) =>
    encodeBatch({ baseOffset, baseTimestamp: 1000, records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: Uint8Array.from([1, 2, 3]), headers: [] }] })

  it("split into the batches they hold, each verified by the log's own checker", () => {
    const a = batch(0)
    const b = batch(1)
    const field = new Uint8Array(a.length + b.length)
    field.set(a)
    field.set(b, a.length)
    const batches = Result.getOrThrow(recordBatches(field))
    expect(batches.map((x) => x.header.baseOffset)).toEqual([0, 1])
    expect(batches[1]!.bytes).toEqual(b)
    expect(Result.getOrThrow(recordBatches(null))).toEqual([])
  })

  it("a damaged batch fails the field", () => {
    const damaged = batch(0)
    damaged[damaged.length - 1]! ^= 0xff
    expect(Result.isFailure(recordBatches(damaged))).toBe(true)
  })
})
