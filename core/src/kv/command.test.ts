import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { RaftDecodeError } from "../codec/decode-error.ts"
import {
  decodeResult,
  decodeSessionCommand,
  encodeResult,
  encodeSessionCommand,
  MAX_RANGE_LIMIT,
  validateCommand,
  type KvCommand,
  type KvResult,
  type SessionCommand
} from "./command.ts"
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from "./keys.ts"

const key = fc.string({ unit: "binary", maxLength: 12 })
const bytes = fc.uint8Array({ maxLength: 20 })
const revision = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

export const commandArb: fc.Arbitrary<KvCommand> = fc.oneof(
  fc.record({ op: fc.constant("put" as const), key, value: bytes }),
  fc.record({ op: fc.constant("delete" as const), key }),
  fc.record({
    op: fc.constant("cas" as const),
    key,
    expected: fc.oneof(fc.constant("absent" as const), revision),
    value: fc.option(bytes, { nil: undefined })
  }),
  fc.record({ op: fc.constant("get" as const), key }),
  fc.record({
    op: fc.constant("range" as const),
    start: key,
    end: fc.option(key, { nil: undefined }),
    limit: fc.integer({ min: 0, max: 2 ** 40 })
  })
)

const sessionArb: fc.Arbitrary<SessionCommand> = fc.record({
  clientId: fc.string({ maxLength: 10 }),
  seq: revision,
  command: commandArb
})

const item = fc.record({ key, value: bytes, revision })
const resultArb: fc.Arbitrary<KvResult> = fc.oneof(
  fc.record({ type: fc.constant("put" as const), revision }),
  fc.record({ type: fc.constant("delete" as const), revision, existed: fc.boolean() }),
  fc.record({ type: fc.constant("cas" as const), ok: fc.boolean(), revision }),
  fc.record({ type: fc.constant("get" as const), found: fc.boolean(), value: bytes, revision }),
  fc.record({ type: fc.constant("range" as const), items: fc.array(item, { maxLength: 5 }), more: fc.boolean() }),
  fc.record({
    type: fc.constant("error" as const),
    code: fc.constantFrom("bad-command" as const, "stale-sequence" as const, "key-too-large" as const, "value-too-large" as const),
    message: fc.string({ maxLength: 20 })
  })
)

/** Calls `decode`; passes if it returns or throws RaftDecodeError, rethrows anything else. */
const decodesOrRejects = (decode: (b: Uint8Array) => unknown, input: Uint8Array): boolean => {
  try {
    decode(input)
    return true
  } catch (error) {
    if (error instanceof RaftDecodeError) return false
    throw error
  }
}

/** Damages encoded bytes: a flipped bit, a truncation or a random overwrite. */
const damaged = (encoded: fc.Arbitrary<Uint8Array>) =>
  fc.tuple(encoded, fc.nat(), fc.nat(255), fc.integer({ min: 0, max: 2 })).map(([b, at, v, how]) => {
    if (b.length === 0) return b
    const out = b.slice()
    const i = at % b.length
    if (how === 0) out[i] = out[i]! ^ (1 << (v % 8))
    else if (how === 1) return out.subarray(0, i)
    else out[i] = v
    return out
  })

describe("kv command encoding", () => {
  it("round-trips every session command", () => {
    fc.assert(
      fc.property(sessionArb, (s) => {
        expect(decodeSessionCommand(encodeSessionCommand(s))).toEqual(s)
      })
    )
  })

  it("round-trips every result", () => {
    fc.assert(
      fc.property(resultArb, (r) => {
        expect(decodeResult(encodeResult(r))).toEqual(r)
      })
    )
  })

  it("keeps a cas on revision 0 apart from a create-only cas, and an absent value apart from an empty one", () => {
    const a: SessionCommand = { clientId: "c", seq: 1, command: { op: "cas", key: "k", expected: 0, value: undefined } }
    const b: SessionCommand = { clientId: "c", seq: 1, command: { op: "cas", key: "k", expected: "absent", value: new Uint8Array(0) } }
    expect(decodeSessionCommand(encodeSessionCommand(a))).toEqual(a)
    expect(decodeSessionCommand(encodeSessionCommand(b))).toEqual(b)
    expect(encodeSessionCommand(a)).not.toEqual(encodeSessionCommand(b))
  })

  it("rejects another version, an unknown op and trailing bytes with RaftDecodeError", () => {
    const good = encodeSessionCommand({ clientId: "c", seq: 1, command: { op: "get", key: "k" } })
    const otherVersion = good.slice()
    otherVersion[0] = 2
    expect(() => decodeSessionCommand(otherVersion)).toThrow(RaftDecodeError)
    const opAt = 1 + 4 + 1 + 8
    const badOp = good.slice()
    badOp[opAt] = 9
    expect(() => decodeSessionCommand(badOp)).toThrow(RaftDecodeError)
    expect(() => decodeSessionCommand(new Uint8Array([...good, 0]))).toThrow(RaftDecodeError)
    expect(() => decodeResult(new Uint8Array([...encodeResult({ type: "put", revision: 3 }), 0]))).toThrow(RaftDecodeError)
    expect(decodeSessionCommand(good)).toEqual({ clientId: "c", seq: 1, command: { op: "get", key: "k" } })
  })

  it("rejects invalid UTF-8 in a key", () => {
    const good = encodeSessionCommand({ clientId: "c", seq: 1, command: { op: "get", key: "k" } })
    const bad = good.slice()
    bad[bad.length - 1] = 0xff
    expect(() => decodeSessionCommand(bad)).toThrow(RaftDecodeError)
  })

  it("never throws anything but RaftDecodeError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        decodesOrRejects(decodeSessionCommand, b)
        decodesOrRejects(decodeResult, b)
        // Random bytes behind a valid version byte reach the op and field decoders.
        decodesOrRejects(decodeSessionCommand, new Uint8Array([1, ...b]))
        decodesOrRejects(decodeResult, new Uint8Array([1, ...b]))
      }),
      { numRuns: 2000 }
    )
  })

  it("never throws anything but RaftDecodeError on damaged encodings", () => {
    fc.assert(
      fc.property(damaged(sessionArb.map(encodeSessionCommand)), damaged(resultArb.map(encodeResult)), (c, r) => {
        decodesOrRejects(decodeSessionCommand, c)
        decodesOrRejects(decodeResult, r)
      }),
      { numRuns: 2000 }
    )
  })

  it("the decode harness itself rethrows foreign errors (so the properties above can fail)", () => {
    expect(() =>
      decodesOrRejects(() => {
        throw new RangeError("boom")
      }, new Uint8Array(0))
    ).toThrow(RangeError)
  })
})

describe("validateCommand", () => {
  const value = (n: number) => new Uint8Array(n)
  it("accepts keys up to 4096 UTF-8 bytes and values up to 1 MiB", () => {
    expect(validateCommand({ op: "put", key: "k".repeat(MAX_KEY_BYTES), value: value(MAX_VALUE_BYTES) })).toBeUndefined()
    expect(validateCommand({ op: "put", key: "é".repeat(MAX_KEY_BYTES / 2), value: value(0) })).toBeUndefined()
  })

  it("rejects an empty key, a key over 4096 bytes and a value over 1 MiB with typed codes", () => {
    expect(validateCommand({ op: "get", key: "" })?.code).toBe("bad-command")
    expect(validateCommand({ op: "delete", key: "k".repeat(MAX_KEY_BYTES + 1) })?.code).toBe("key-too-large")
    // 2049 two-byte characters: 4098 bytes though only 2049 UTF-16 units.
    expect(validateCommand({ op: "get", key: "é".repeat(MAX_KEY_BYTES / 2 + 1) })?.code).toBe("key-too-large")
    expect(validateCommand({ op: "put", key: "k", value: value(MAX_VALUE_BYTES + 1) })?.code).toBe("value-too-large")
    expect(validateCommand({ op: "cas", key: "k", expected: 1, value: value(MAX_VALUE_BYTES + 1) })?.code).toBe(
      "value-too-large"
    )
  })

  it("checks range limits and bounds (an empty start is the beginning)", () => {
    expect(validateCommand({ op: "range", start: "", end: undefined, limit: 1 })).toBeUndefined()
    expect(validateCommand({ op: "range", start: "", end: undefined, limit: MAX_RANGE_LIMIT })).toBeUndefined()
    expect(validateCommand({ op: "range", start: "", end: undefined, limit: 0 })?.code).toBe("bad-command")
    expect(validateCommand({ op: "range", start: "", end: undefined, limit: MAX_RANGE_LIMIT + 1 })?.code).toBe(
      "bad-command"
    )
    expect(validateCommand({ op: "range", start: "", end: "x".repeat(5000), limit: 5 })?.code).toBe("key-too-large")
  })
})
