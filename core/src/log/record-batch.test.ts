/**
 * The RecordBatch v2 codec: a hand-laid-out batch checked byte for byte,
 * encode/decode round trips, and damage (flipped bytes, truncation, lying
 * counts under a valid CRC, random bytes) always refused typed, never thrown.
 */
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { crc32c } from "../checksum/crc32c.ts"
import {
  BATCH_OVERHEAD,
  baseOffsetOf,
  checkBatch,
  CRC_START,
  decodeBatch,
  encodeBatch,
  Field,
  verifyBatch,
  verifyBatchAt,
  withBaseOffset,
  type BatchInput,
  type LogRecord
} from "./record-batch.ts"
import { readVarint, VarintError, writeVarint } from "./varint.ts"

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)))
const enc = (s: string) => new TextEncoder().encode(s)

/** Re-signs a batch after a deliberate change inside the CRC-covered bytes. */
const resign = (batch: Uint8Array): Uint8Array => {
  const out = batch.slice()
  new DataView(out.buffer).setUint32(Field.crc, crc32c(out, CRC_START))
  return out
}

const faultOf = (bytes: Uint8Array): string => {
  const r = decodeBatch(bytes)
  return Result.isFailure(r) ? r.failure.fault : "ok"
}

describe("the v2 layout, by hand", () => {
  // baseOffset 5, epoch 7, timestamp 1000, one record: tsDelta 3, key "k", value "vv", header h=x.
  // The CRC was computed by an independent bitwise CRC32C (Python) over bytes 21..75.
  const expected = hex(`
    0000000000000005 0000003f 00000007 02 5cd602c8
    0000 00000000 00000000000003e8 00000000000003eb ffffffffffffffff ffff ffffffff 00000001
    1a 00 06 00 02 6b 04 7676 02 02 68 02 78`)
  const input: BatchInput = {
    baseOffset: 5,
    partitionLeaderEpoch: 7,
    baseTimestamp: 1000,
    records: [{ attributes: 0, timestampDelta: 3, offsetDelta: 0, key: enc("k"), value: enc("vv"), headers: [{ key: "h", value: enc("x") }] }]
  }

  it("encodes a one-record batch to exactly the hand-computed bytes", () => {
    expect(Array.from(encodeBatch(input))).toEqual(Array.from(expected))
  })

  it("decodes the hand-computed bytes to the fields they spell", () => {
    const r = decodeBatch(expected)
    expect(Result.isSuccess(r)).toBe(true)
    if (Result.isFailure(r)) return
    expect(r.success.header).toMatchObject({
      baseOffset: 5, batchLength: 63, partitionLeaderEpoch: 7, crc: 0x5cd602c8, attributes: 0, lastOffsetDelta: 0,
      baseTimestamp: 1000, maxTimestamp: 1003, producerId: -1, producerEpoch: -1, baseSequence: -1, recordCount: 1
    })
    expect(r.success.records).toEqual(input.records)
  })

  it("a new base offset leaves the CRC valid (the field is outside it)", () => {
    const moved = withBaseOffset(expected, 2 ** 40)
    const r = verifyBatch(moved)
    expect(Result.isSuccess(r) && r.success.baseOffset).toBe(2 ** 40)
  })

  it("names each kind of damage", () => {
    const badMagic = expected.slice()
    badMagic[Field.magic] = 1
    expect(faultOf(badMagic)).toBe("bad-magic")
    const badCrc = expected.slice()
    badCrc[70] = badCrc[70]! ^ 0x01
    expect(faultOf(badCrc)).toBe("checksum")
    expect(faultOf(expected.subarray(0, 40))).toBe("truncated")
    expect(faultOf(expected.subarray(0, 74))).toBe("truncated")
    const trailing = new Uint8Array(76)
    trailing.set(expected)
    expect(faultOf(trailing)).toBe("bad-length")
    // Two records claimed, one present, CRC valid: the records are checked too.
    const lyingCount = expected.slice()
    new DataView(lyingCount.buffer).setInt32(Field.recordCount, 2)
    expect(faultOf(resign(lyingCount))).toBe("bad-record")
    const compressed = expected.slice()
    new DataView(compressed.buffer).setInt16(Field.attributes, 4)
    expect(faultOf(resign(compressed))).toBe("unsupported-compression")
    expect(Result.isSuccess(verifyBatch(resign(compressed)))).toBe(true)
    const negativeDelta = expected.slice()
    new DataView(negativeDelta.buffer).setInt32(Field.lastOffsetDelta, -1)
    expect(faultOf(resign(negativeDelta))).toBe("bad-field")
  })
})

const bytesArb = fc.uint8Array({ maxLength: 40 })
const recordArb = (offsetDelta: number): fc.Arbitrary<LogRecord> =>
  fc.record({
    attributes: fc.integer({ min: 0, max: 255 }),
    timestampDelta: fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
    offsetDelta: fc.constant(offsetDelta),
    key: fc.option(bytesArb, { nil: null }),
    value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null }),
    headers: fc.array(fc.record({ key: fc.string({ maxLength: 8 }), value: fc.option(bytesArb, { nil: null }) }), { maxLength: 3 })
  })

const batchArb: fc.Arbitrary<BatchInput> = fc
  .array(fc.integer({ min: 0, max: 3 }), { maxLength: 6 })
  .chain((gaps) => {
    let delta = -1
    const deltas = gaps.map((g) => (delta += 1 + g))
    return fc.record({
      baseOffset: fc.integer({ min: 0, max: 2 ** 50 }),
      partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
      attributes: fc.constantFrom(0, 0x10, 0x20, 0x08),
      baseTimestamp: fc.integer({ min: -1, max: 2 ** 45 }),
      producerId: fc.integer({ min: -1, max: 2 ** 50 }),
      producerEpoch: fc.integer({ min: -1, max: 32767 }),
      baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
      records: fc.tuple(...deltas.map(recordArb))
    })
  })

describe("the codec, as properties", () => {
  it("decode(encode(batch)) gives the batch back", () => {
    fc.assert(
      fc.property(batchArb, (input) => {
        const r = decodeBatch(encodeBatch(input))
        expect(Result.isSuccess(r)).toBe(true)
        if (Result.isFailure(r)) return
        const { header, records } = r.success
        expect(header).toMatchObject({
          baseOffset: input.baseOffset, partitionLeaderEpoch: input.partitionLeaderEpoch, attributes: input.attributes,
          baseTimestamp: input.baseTimestamp, producerId: input.producerId, producerEpoch: input.producerEpoch,
          baseSequence: input.baseSequence, recordCount: input.records.length
        })
        expect(records).toEqual(input.records)
      }),
      { numRuns: 300 }
    )
  })

  it("any single damaged byte from batchLength on is detected", () => {
    fc.assert(
      fc.property(batchArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (input, at, mask) => {
        const batch = encodeBatch(input)
        const position = Field.batchLength + (at % (batch.length - Field.batchLength))
        // partitionLeaderEpoch lies outside the CRC by Kafka's design (see the next test).
        fc.pre(position < Field.partitionLeaderEpoch || position >= Field.magic)
        const damaged = batch.slice()
        damaged[position] = damaged[position]! ^ mask
        expect(Result.isFailure(verifyBatch(damaged))).toBe(true)
        expect(Result.isFailure(decodeBatch(damaged))).toBe(true)
      }),
      { numRuns: 1000 }
    )
  })

  it("baseOffset and partitionLeaderEpoch are outside the CRC: damage there changes the field, which the segment's offset check must catch", () => {
    const batch = encodeBatch({ baseOffset: 9, baseTimestamp: 0, records: [] })
    const offsetHit = batch.slice()
    offsetHit[7] = 10
    const r = verifyBatch(offsetHit)
    expect(Result.isSuccess(r) && r.success.baseOffset).toBe(10)
    const epochHit = batch.slice()
    epochHit[Field.partitionLeaderEpoch] = 1
    expect(Result.isSuccess(verifyBatch(epochHit))).toBe(true)
  })

  it("every truncation is detected", () => {
    fc.assert(
      fc.property(batchArb, fc.nat(), (input, cut) => {
        const batch = encodeBatch(input)
        const prefix = batch.subarray(0, cut % batch.length)
        const r = decodeBatch(prefix)
        expect(Result.isFailure(r) && ["truncated", "bad-length"].includes(r.failure.fault)).toBe(true)
        expect(Result.isFailure(verifyBatchAt(prefix, 0, prefix.length))).toBe(true)
      }),
      { numRuns: 500 }
    )
  })

  it("random bytes, and random records under a valid CRC, give a typed error or a batch, never a throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeBatch(bytes)
        expect(Result.isFailure(r) ? r.failure._tag : "ok").toMatch(/BatchFormatError|ok/)
      }),
      { numRuns: 500 }
    )
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 120 }), fc.integer({ min: 0, max: 5 }), (records, count) => {
        const batch = new Uint8Array(BATCH_OVERHEAD + records.length)
        batch.set(encodeBatch({ baseTimestamp: 0, records: [] }))
        batch.set(records, BATCH_OVERHEAD)
        const view = new DataView(batch.buffer)
        view.setInt32(Field.batchLength, batch.length - 12)
        view.setInt32(Field.recordCount, count)
        view.setInt32(Field.lastOffsetDelta, 10)
        const r = decodeBatch(resign(batch))
        if (Result.isFailure(r)) expect(r.failure.fault).toBe("bad-record")
      }),
      { numRuns: 1000 }
    )
  })
})

describe("checkBatch: what the log accepts on every append, without copying the records", () => {
  /** decodeBatch's verdict on an uncompressed batch: its header, or the fault. */
  const decodeVerdict = (bytes: Uint8Array) => {
    const r = decodeBatch(bytes)
    return Result.isFailure(r) ? r.failure.fault : r.success.header
  }
  const checkVerdict = (bytes: Uint8Array) => {
    const r = checkBatch(bytes)
    return Result.isFailure(r) ? r.failure.fault : r.success
  }

  it("gives decodeBatch's verdict on random records under a valid CRC, well-formed or not", () => {
    let refused = 0
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 120 }), fc.integer({ min: 0, max: 5 }), (records, count) => {
        const batch = new Uint8Array(BATCH_OVERHEAD + records.length)
        batch.set(encodeBatch({ baseTimestamp: 0, records: [] }))
        batch.set(records, BATCH_OVERHEAD)
        const view = new DataView(batch.buffer)
        view.setInt32(Field.batchLength, batch.length - 12)
        view.setInt32(Field.recordCount, count)
        view.setInt32(Field.lastOffsetDelta, 10)
        const signed = resign(batch)
        const verdict = checkVerdict(signed)
        if (typeof verdict === "string") refused++
        expect(verdict).toEqual(decodeVerdict(signed))
      }),
      { numRuns: 1000 }
    )
    expect(refused).toBeGreaterThan(0) // the property saw malformed records, not only good ones
  })

  it("accepts what encodeBatch writes and refuses a header key that is not UTF-8", () => {
    const good = encodeBatch({ baseTimestamp: 5, records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: enc("v"), headers: [{ key: "k", value: null }] }] })
    expect(checkVerdict(good)).toEqual(decodeVerdict(good))
    expect(typeof checkVerdict(good)).toBe("object")
    const bad = good.slice()
    bad[bad.indexOf(0x6b, BATCH_OVERHEAD)] = 0xff // the header key "k" becomes a lone 0xff byte
    expect(checkVerdict(resign(bad))).toBe("bad-record")
  })

  it("baseOffsetOf reads the field withBaseOffset sets", () => {
    const batch = encodeBatch({ baseTimestamp: 0, records: [] })
    expect(baseOffsetOf(batch)).toBe(0)
    expect(baseOffsetOf(withBaseOffset(batch, 2 ** 40 + 3))).toBe(2 ** 40 + 3)
  })
})

describe("zigzag varints", () => {
  it("round trip over the safe integers (varlong) and int32 (varint)", () => {
    fc.assert(
      fc.property(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (v) => {
        const out: Array<number> = []
        writeVarint(out, v)
        const bytes = Uint8Array.from(out)
        expect(readVarint(bytes, 0, bytes.length, true)).toEqual({ value: v, next: bytes.length })
      })
    )
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
        const out: Array<number> = []
        writeVarint(out, v)
        expect(readVarint(Uint8Array.from(out), 0, out.length, false).value).toBe(v)
      })
    )
  })

  it("known encodings: 0, -1, 1, -2, 63, -64, 64 (zigzag)", () => {
    const cases: Array<[number, Array<number>]> = [[0, [0]], [-1, [1]], [1, [2]], [-2, [3]], [63, [126]], [-64, [127]], [64, [0x80, 0x01]]]
    for (const [v, bytes] of cases) {
      const out: Array<number> = []
      writeVarint(out, v)
      expect(out).toEqual(bytes)
    }
  })

  it("refuses overlong, unterminated and out-of-range varints", () => {
    expect(() => readVarint(hex("8080808010"), 0, 5, false)).toThrow(VarintError) // 2^32 zigzag: past int32
    expect(() => readVarint(hex("808080808001"), 0, 6, false)).toThrow(VarintError) // six bytes
    expect(() => readVarint(hex("8080"), 0, 2, true)).toThrow(VarintError) // runs off the end
    expect(() => readVarint(hex("ffffffffffffffffff01"), 0, 10, true)).toThrow(VarintError) // past 2^53
  })
})
