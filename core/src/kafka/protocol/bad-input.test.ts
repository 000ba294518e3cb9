/**
 * What the codec does with bytes a client should never send: every one is
 * a typed `KafkaDecodeError` (or, for a request it cannot interpret, a
 * `KafkaUnsupportedRequestError` with the correlation id to answer), never
 * a thrown RangeError and never an allocation sized by an unchecked length.
 */
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { kafkaApis, supportedApiVersions } from "./api-table.ts"
import { KafkaDecodeError, KafkaUnsupportedRequestError, type DecodeFault } from "./errors.ts"
import { nextFrame } from "./frame.ts"
import { defaultDecodeLimits } from "./limits.ts"
import { decodeMessage, encodeMessage } from "./message-codec.ts"
import { decodeRequest, decodeResponse, encodeRequest } from "./request.ts"
import { ERROR_UNSUPPORTED_VERSION, unsupportedApiVersionsResponse } from "./unsupported.ts"

const hex = (s: string): Uint8Array => Uint8Array.from((s.replace(/\s+/g, "").match(/../g) ?? []).map((b) => parseInt(b, 16)))

const decodeFaultOf = (result: Result.Result<unknown, unknown>): DecodeFault => {
  expect(Result.isFailure(result)).toBe(true)
  const failure = Result.isFailure(result) ? result.failure : undefined
  expect(failure).toBeInstanceOf(KafkaDecodeError)
  return failure instanceof KafkaDecodeError ? failure.fault : "truncated"
}

const metadataV1 = (topicsBytes: string): Uint8Array => hex(`0003 0001 00000007 ffff ${topicsBytes}`)

const fetchFrame = Result.getOrThrow(
  encodeRequest("Fetch", 12, { correlationId: 9, clientId: "client" }, {
    clusterId: "k",
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1n },
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: "orders", topicId: new Uint8Array(16), partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1024, replicaDirectoryId: new Uint8Array(16) }] }],
    forgottenTopicsData: [],
    rackId: ""
  })
).subarray(4)

describe("truncated and damaged frames", () => {
  it("every proper prefix of a request is a typed decode error", () => {
    expect(Result.isSuccess(decodeRequest(fetchFrame))).toBe(true)
    for (let n = 0; n < fetchFrame.length; n++) {
      const fault = decodeFaultOf(decodeRequest(fetchFrame.subarray(0, n)))
      expect(["truncated", "bad-length"]).toContain(fault)
    }
  })

  it("a byte after the message is refused", () => {
    const longer = new Uint8Array(fetchFrame.length + 1)
    longer.set(fetchFrame)
    expect(decodeFaultOf(decodeRequest(longer))).toBe("trailing-bytes")
  })

  it("random and mutated bytes never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: fetchFrame.length - 1 }), fc.integer({ min: 0, max: 255 }), (noise, at, byte) => {
        const mutated = fetchFrame.slice()
        mutated[at] = byte
        for (const bytes of [noise, mutated]) {
          const result = decodeRequest(bytes)
          if (Result.isFailure(result)) expect(result.failure).toSatisfy((e) => e instanceof KafkaDecodeError || e instanceof KafkaUnsupportedRequestError)
        }
      }),
      { numRuns: 300 }
    )
  })
})

describe("absurd and negative lengths", () => {
  it("an array count past the bytes left or past the limit is refused before allocating", () => {
    expect(decodeFaultOf(decodeRequest(metadataV1("7fffffff")))).toBe("bad-length")
    expect(decodeFaultOf(decodeRequest(metadataV1("000fffff 0001 74")))).toBe("truncated")
    // A compact count of 2^32 - 2 elements in a flexible version.
    expect(decodeFaultOf(decodeMessage(kafkaApis.Metadata.request, 12, hex("feffffff0f")))).toBe("bad-length")
  })

  it("a string length past the bytes left or past 32767 is refused", () => {
    expect(decodeFaultOf(decodeRequest(metadataV1("00000001 7000 74")))).toBe("truncated")
    expect(decodeFaultOf(decodeMessage(kafkaApis.ApiVersions.request, 3, hex("ffff0f 00 00")))).toBe("bad-length")
  })

  it("a bytes length past the limit is refused", () => {
    const limits = { ...defaultDecodeLimits, maxBytesLength: 4 }
    const body = Result.getOrThrow(encodeMessage(kafkaApis.SyncGroup.response, 0, { throttleTimeMs: 0, errorCode: 0, protocolType: null, protocolName: null, assignment: new Uint8Array(5) }))
    expect(Result.isSuccess(decodeMessage(kafkaApis.SyncGroup.response, 0, body))).toBe(true)
    expect(decodeFaultOf(decodeMessage(kafkaApis.SyncGroup.response, 0, body, limits))).toBe("bad-length")
  })

  it("negative lengths: -1 only where the version allows null, others never", () => {
    // Metadata v0 has no null topic list; v1 reads -1 as "all topics".
    expect(decodeFaultOf(decodeMessage(kafkaApis.Metadata.request, 0, hex("ffffffff")))).toBe("bad-length")
    expect(Result.getOrThrow(decodeMessage(kafkaApis.Metadata.request, 1, hex("ffffffff"))).topics).toBeNull()
    // A topic name is never null before v10, and -2 is never a length.
    expect(decodeFaultOf(decodeRequest(metadataV1("00000001 ffff")))).toBe("bad-length")
    expect(decodeFaultOf(decodeRequest(metadataV1("00000001 fffe")))).toBe("bad-length")
    expect(decodeFaultOf(decodeRequest(metadataV1("fffffffe")))).toBe("bad-length")
  })

  it("an unsigned varint longer than five bytes is refused", () => {
    expect(decodeFaultOf(decodeMessage(kafkaApis.Metadata.request, 12, hex("ffffffffff01")))).toBe("bad-varint")
  })

  it("a boolean other than 0 or 1 and a string that is not UTF-8 are refused", () => {
    expect(decodeFaultOf(decodeMessage(kafkaApis.Metadata.request, 4, hex("00000000 02")))).toBe("bad-bool")
    expect(decodeFaultOf(decodeRequest(metadataV1("00000001 0001 ff")))).toBe("bad-utf8")
  })
})

describe("tagged fields", () => {
  // ApiVersions v3 request body: compact "x", compact "1", then the tagged section.
  const withTags = (tags: string) => decodeMessage(kafkaApis.ApiVersions.request, 3, hex(`0278 0231 ${tags}`))

  it("an unknown tag is kept and written back", () => {
    const decoded = Result.getOrThrow(withTags("01 07 02 abcd"))
    expect(decoded.unknownTaggedFields).toEqual([{ tag: 7, data: hex("abcd") }])
    expect(Result.getOrThrow(encodeMessage(kafkaApis.ApiVersions.request, 3, decoded))).toEqual(hex("0278 0231 01 07 02 abcd"))
  })

  it("a repeated tag, a tag past the frame and a known tag with bytes left over are refused", () => {
    expect(decodeFaultOf(withTags("02 07 00 07 00"))).toBe("bad-tagged-field")
    expect(decodeFaultOf(withTags("01 07 05 ab"))).toBe("truncated")
    expect(decodeFaultOf(withTags("7f"))).toBe("truncated")
    // ApiVersions response v3, tag 3 (ZkMigrationReady, a bool) given two bytes.
    expect(decodeFaultOf(decodeMessage(kafkaApis.ApiVersions.response, 3, hex("0000 01 00000000 01 03 02 0100")))).toBe("bad-tagged-field")
  })
})

describe("frames", () => {
  it("splits a stream, asks for more, and refuses a negative or oversized size", () => {
    const stream = hex("00000002 abcd 000000")
    const first = Result.getOrThrow(nextFrame(stream, 0, defaultDecodeLimits))
    expect(first).toEqual({ _tag: "Frame", body: hex("abcd"), next: 6 })
    expect(Result.getOrThrow(nextFrame(stream, 6, defaultDecodeLimits))).toEqual({ _tag: "NeedMore", bytes: 1 })
    expect(Result.getOrThrow(nextFrame(hex("00000009 00"), 0, defaultDecodeLimits))).toEqual({ _tag: "NeedMore", bytes: 8 })
    expect(decodeFaultOf(nextFrame(hex("ffffffff"), 0, defaultDecodeLimits))).toBe("bad-length")
    expect(decodeFaultOf(nextFrame(hex("7fffffff"), 0, defaultDecodeLimits))).toBe("bad-length")
  })
})

describe("requests Cairn cannot interpret", () => {
  const unsupportedOf = (bytes: Uint8Array): KafkaUnsupportedRequestError => {
    const result = decodeRequest(bytes)
    expect(Result.isFailure(result)).toBe(true)
    const failure = Result.isFailure(result) ? result.failure : undefined
    expect(failure).toBeInstanceOf(KafkaUnsupportedRequestError)
    if (!(failure instanceof KafkaUnsupportedRequestError)) throw new Error("not an unsupported request")
    return failure
  }

  it("an unknown API key is reported with its correlation id", () => {
    const e = unsupportedOf(hex("2710 0000 0000002a ffff"))
    expect([e.reason, e.apiKey, e.apiVersion, e.correlationId]).toEqual(["unknown-api", 10000, 0, 42])
  })

  it("a version past the table, or below Cairn's floor, is reported as unsupported-version", () => {
    const tooNew = unsupportedOf(hex("0012 0063 00000005 0001 63 00 ffffff"))
    expect([tooNew.reason, tooNew.apiKey, tooNew.apiVersion, tooNew.correlationId]).toEqual(["unsupported-version", 18, 99, 5])
    // Produce v2 carries the old message format, which Cairn does not store.
    expect(unsupportedOf(hex("0000 0002 00000006 ffff")).reason).toBe("unsupported-version")
  })

  it("the answer to an unsupported ApiVersions is a v0 response with error 35 and the table", () => {
    const frame = Result.getOrThrow(unsupportedApiVersionsResponse(5))
    const response = Result.getOrThrow(decodeResponse("ApiVersions", 0, frame.subarray(4)))
    expect(response.correlationId).toBe(5)
    expect(response.body.errorCode).toBe(ERROR_UNSUPPORTED_VERSION)
    expect(response.body.apiKeys).toEqual(supportedApiVersions())
    expect(response.body.apiKeys.find((k) => k.apiKey === 0)).toEqual({ apiKey: 0, minVersion: 3, maxVersion: 11 })
  })
})
