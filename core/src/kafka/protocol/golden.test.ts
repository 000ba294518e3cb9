/**
 * Golden byte vectors, written out by hand from Kafka's message definitions
 * and protocol guide, not produced by this codec: each frame is the int32
 * size, the header (request v1: key, version, correlation id, int16-length
 * client id; request v2: the same plus an empty tagged section; response
 * v0: the correlation id), then the body's fields in definition order with
 * the fields the version lacks left out. Classic strings carry an int16
 * length, classic arrays and bytes an int32 count; in flexible versions
 * strings, arrays and bytes carry an unsigned varint of length + 1 (0 =
 * null) and every struct ends with its tagged-field section (a count, then
 * tag, size, value). Each vector must decode to the value beside it and
 * that value must encode back to exactly these bytes.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type { ApiName, RequestOf, ResponseOf } from "./api-table.ts"
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from "./request.ts"

const hex = (s: string): Uint8Array => Uint8Array.from((s.replace(/\s+/g, "").match(/../g) ?? []).map((b) => parseInt(b, 16)))
const zeroUuid = new Uint8Array(16)

const requestVector = <N extends ApiName>(api: N, version: number, clientId: string | null, bytes: string, body: RequestOf<N>) => {
  const frame = hex(bytes)
  it(`${api} v${version} request`, () => {
    const decoded = Result.getOrThrow(decodeRequest(frame.subarray(4)))
    expect(decoded.api).toBe(api)
    expect(decoded.header).toEqual({ apiKey: decoded.header.apiKey, apiVersion: version, correlationId: decoded.header.correlationId, clientId })
    expect(decoded.body).toEqual(body)
    const encoded = Result.getOrThrow(encodeRequest(api, version, { correlationId: decoded.header.correlationId, clientId }, body))
    expect(encoded).toEqual(frame)
  })
}

const responseVector = <N extends ApiName>(api: N, version: number, bytes: string, body: ResponseOf<N>) => {
  const frame = hex(bytes)
  it(`${api} v${version} response`, () => {
    const decoded = Result.getOrThrow(decodeResponse(api, version, frame.subarray(4)))
    expect(decoded.body).toEqual(body)
    expect(Result.getOrThrow(encodeResponse(api, version, decoded.correlationId, body))).toEqual(frame)
  })
}

describe("ApiVersions", () => {
  // size 11 | key 18, version 0, correlation 1, client id "c" | empty body
  requestVector("ApiVersions", 0, "c", "0000000b 0012 0000 00000001 0001 63", { clientSoftwareName: "", clientSoftwareVersion: "" })

  // size 17 | header v2: key 18, version 3, correlation 1, client id "c" (still int16 length), no tags
  // | compact "x" (02 78), compact "1" (02 31), no tags
  requestVector("ApiVersions", 3, "c", "00000011 0012 0003 00000001 0001 63 00 0278 0231 00", {
    clientSoftwareName: "x",
    clientSoftwareVersion: "1"
  })

  const apiVersionsResponseDefaults = { supportedFeatures: [], finalizedFeaturesEpoch: -1n, finalizedFeatures: [], zkMigrationReady: false }

  // size 16 | correlation 1 | error 0, int32 count 1, (key 18, min 0, max 4); v0 has no throttle time
  responseVector("ApiVersions", 0, "00000010 00000001 0000 00000001 0012 0000 0004", {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
    throttleTimeMs: 0,
    ...apiVersionsResponseDefaults
  })

  // size 29 | header v0 even though v3 is flexible | error 0, compact count 1 (02), (18, 0, 4, no tags),
  // throttle 0, tagged section: 1 field, tag 1 (FinalizedFeaturesEpoch), size 8, int64 5
  responseVector("ApiVersions", 3, "0000001d 00000001 0000 02 0012 0000 0004 00 00000000 01 01 08 0000000000000005", {
    errorCode: 0,
    apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
    throttleTimeMs: 0,
    ...apiVersionsResponseDefaults,
    finalizedFeaturesEpoch: 5n
  })
})

describe("Metadata", () => {
  // size 17 | key 3, version 1, correlation 7, null client id (ffff) | int32 count 1, topic "t"
  requestVector("Metadata", 1, null, "00000011 0003 0001 00000007 ffff 00000001 0001 74", {
    topics: [{ topicId: zeroUuid, name: "t" }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false
  })

  // size 35 | key 3, version 12, correlation 7, client id "c", no tags
  // | compact count 1 (02): topic id (16 zero bytes), compact nullable "t" (02 74), no tags
  // | allowAutoTopicCreation 1, includeTopicAuthorizedOperations 0 (the cluster flag ended at v10), no tags
  requestVector("Metadata", 12, "c", "00000023 0003 000c 00000007 0001 63 00 02 00000000000000000000000000000000 0274 00 01 00 00", {
    topics: [{ topicId: zeroUuid, name: "t" }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false
  })
})

describe("Produce", () => {
  // size 41 (header 11 + body 30) | key 0, version 3, correlation 2, client id "c"
  // | transactional id null (ffff), acks -1, timeout 30000, 1 topic "t", 1 partition: index 0,
  //   records int32 length 3 and 3 opaque bytes (the codec does not look inside)
  requestVector("Produce", 3, "c", "00000029 0000 0003 00000002 0001 63 ffff ffff 00007530 00000001 0001 74 00000001 00000000 00000003 deadbe", {
    transactionalId: null,
    acks: -1,
    timeoutMs: 30000,
    topicData: [{ name: "t", partitionData: [{ index: 0, records: hex("deadbe") }] }]
  })

  // size 34 (header 12 + body 22) | key 0, version 9, correlation 2, client id "c", no tags
  // | compact nullable transactional id null (00), acks 1, timeout 1000, compact count 1 (02), compact "t" (02 74),
  //   compact count 1 (02), index 1, compact records length 3 (04) de ad be, no tags (partition), no tags (topic), no tags
  requestVector("Produce", 9, "c", "00000022 0000 0009 00000002 0001 63 00 00 0001 000003e8 02 0274 02 00000001 04deadbe 00 00 00", {
    transactionalId: null,
    acks: 1,
    timeoutMs: 1000,
    topicData: [{ name: "t", partitionData: [{ index: 1, records: hex("deadbe") }] }]
  })
})

describe("Fetch", () => {
  const partitionDefaults = { currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1n, replicaDirectoryId: zeroUuid }
  const requestDefaults = { clusterId: null, replicaState: { replicaId: -1, replicaEpoch: -1n }, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: "" }

  // size 55 (header 11 + body 44) | key 1, version 4, correlation 3, client id "c"
  // | replica -1, max wait 500, min bytes 1, max bytes 1 MiB, isolation 1 (read committed),
  //   1 topic "t", 1 partition: 0, fetch offset 42, partition max bytes 1 MiB
  requestVector(
    "Fetch",
    4,
    "c",
    "00000037 0001 0004 00000003 0001 63 ffffffff 000001f4 00000001 00100000 01 00000001 0001 74 00000001 00000000 000000000000002a 00100000",
    {
      ...requestDefaults,
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 0x100000,
      isolationLevel: 1,
      topics: [{ topic: "t", topicId: zeroUuid, partitions: [{ ...partitionDefaults, partition: 0, fetchOffset: 42n, partitionMaxBytes: 0x100000 }] }]
    }
  )

  // size 82 (header 12 + body 70) | key 1, version 12, correlation 3, client id "c", no tags
  // | replica -1, max wait 500, min bytes 1, max bytes 1 MiB, isolation 0, session 0, session epoch -1,
  //   compact count 1 (02), compact "t" (02 74), compact count 1 (02): partition 0, current leader epoch -1,
  //   fetch offset 42, last fetched epoch -1, log start offset -1, partition max bytes 1 MiB, no tags; topic no tags;
  //   no forgotten topics (01), rack id "" (01); tagged section: 1 field, tag 0 (ClusterId), size 2, compact "k" (02 6b)
  requestVector(
    "Fetch",
    12,
    "c",
    "00000052 0001 000c 00000003 0001 63 00 ffffffff 000001f4 00000001 00100000 00 00000000 ffffffff" +
      " 02 0274 02 00000000 ffffffff 000000000000002a ffffffff ffffffffffffffff 00100000 00 00 01 01 01 00 02 026b",
    {
      ...requestDefaults,
      clusterId: "k",
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 0x100000,
      isolationLevel: 0,
      topics: [{ topic: "t", topicId: zeroUuid, partitions: [{ ...partitionDefaults, partition: 0, fetchOffset: 42n, partitionMaxBytes: 0x100000 }] }]
    }
  )
})

describe("SASL", () => {
  // size 18 | key 17, version 1, correlation 1, client id "c" | int16-length "PLAIN"
  requestVector("SaslHandshake", 1, "c", "00000012 0011 0001 00000001 0001 63 0005 504c41494e", { mechanism: "PLAIN" })
  // size 17 | correlation 1 | error 0, int32 count 1, "PLAIN"
  responseVector("SaslHandshake", 1, "00000011 00000001 0000 00000001 0005 504c41494e", { errorCode: 0, mechanisms: ["PLAIN"] })

  // size 19 | key 36, version 0, correlation 1, client id "c" | int32-length bytes 00 75 00 70 (NUL "u" NUL "p")
  requestVector("SaslAuthenticate", 0, "c", "00000013 0024 0000 00000001 0001 63 00000004 00750070", { authBytes: Uint8Array.of(0, 0x75, 0, 0x70) })
  // size 18 | header v2: key 36, version 2, correlation 1, client id "c", no tags | compact bytes (05: 4 bytes), no tags
  requestVector("SaslAuthenticate", 2, "c", "00000012 0024 0002 00000001 0001 63 00 05 00750070 00", { authBytes: Uint8Array.of(0, 0x75, 0, 0x70) })
  // size 18 | header v1: correlation 1, no tags | error 0, null compact message (00), empty compact bytes (01),
  //   session lifetime int64 0, no tags
  responseVector("SaslAuthenticate", 2, "00000012 00000001 00 0000 00 01 0000000000000000 00", {
    errorCode: 0,
    errorMessage: null,
    authBytes: new Uint8Array(0),
    sessionLifetimeMs: 0n
  })
  // size 15 | correlation 1 | error 58, int16-length "bad", int32-length empty bytes; v0 has no session lifetime
  responseVector("SaslAuthenticate", 0, "0000000f 00000001 003a 0003 626164 00000000", {
    errorCode: 58,
    errorMessage: "bad",
    authBytes: new Uint8Array(0),
    sessionLifetimeMs: 0n
  })
})

describe("the vectors are checked", () => {
  it("a vector with one byte changed does not decode to the same value", () => {
    const good = hex("00000011 0003 0001 00000007 ffff 00000001 0001 74")
    const bad = good.slice()
    bad[bad.length - 1] = 0x75
    const decoded = Result.getOrThrow(decodeRequest(bad.subarray(4)))
    expect(decoded.api === "Metadata" && decoded.body.topics?.[0]?.name).toBe("u")
  })
})
