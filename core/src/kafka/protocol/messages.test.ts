/**
 * Round trips of every message Cairn's Kafka codec knows, in every version
 * of its definition: decode(encode(v)) = v, and re-encoding gives the same
 * bytes. The arbitraries come from the schemas themselves
 * (`arbitrary.test-support.ts`), so a field read in the wrong order, with
 * the wrong width or in the wrong versions fails here.
 */
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { apiNames, kafkaApis } from "./api-table.ts"
import { arbitraryMessage } from "./arbitrary.test-support.ts"
import { decodeMessage, encodeMessage } from "./message-codec.ts"
import type { MessageSchema } from "./schema.ts"

const versionsOf = <T>(schema: MessageSchema<T>): ReadonlyArray<number> =>
  Array.from({ length: schema.validVersions.hi - schema.validVersions.lo + 1 }, (_, i) => schema.validVersions.lo + i)

const roundTrips = <T>(schema: MessageSchema<T>, version: number): void => {
  fc.assert(
    fc.property(arbitraryMessage(schema, version), (value) => {
      const bytes = Result.getOrThrow(encodeMessage(schema, version, value))
      const decoded = Result.getOrThrow(decodeMessage(schema, version, bytes))
      expect(decoded).toEqual(value)
      expect(Result.getOrThrow(encodeMessage(schema, version, decoded))).toEqual(bytes)
    }),
    { numRuns: 40 }
  )
}

describe("every Kafka message round-trips in every version", () => {
  for (const name of apiNames) {
    const entry = kafkaApis[name]
    const request = entry.request as MessageSchema<unknown>
    const response = entry.response as MessageSchema<unknown>
    for (const version of versionsOf(request)) {
      it(`${name} v${version}`, () => {
        roundTrips(request, version)
        roundTrips(response, version)
      })
    }
  }
})

describe("the round trip is not vacuous", () => {
  it("a value changed after encoding no longer matches what decodes", () => {
    const schema = kafkaApis.Metadata.request
    const value = {
      topics: [{ topicId: new Uint8Array(16), name: "a" }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false
    }
    const bytes = Result.getOrThrow(encodeMessage(schema, 1, value))
    expect(Result.getOrThrow(decodeMessage(schema, 1, bytes))).toEqual(value)
    expect(Result.getOrThrow(decodeMessage(schema, 1, bytes))).not.toEqual({ ...value, topics: [{ topicId: new Uint8Array(16), name: "b" }] })
  })
})
