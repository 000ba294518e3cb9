import fc from "fast-check"
import { Effect, Layer, Result } from "effect"
import { describe, expect, it } from "vitest"
import { crc32c } from "../checksum/crc32c.ts"
import { Clock } from "../clock/clock.ts"
import { makeGeometry, stripeCount } from "./layout.ts"
import {
  decodeObjectMeta,
  encodeObjectMeta,
  makeObjectMeta,
  ObjectMetaDecodeError,
  type ObjectBody,
  type ObjectMeta
} from "./metadata.ts"

const text = fc.string({ unit: "grapheme", maxLength: 12 })
const pairs = fc.array(fc.tuple(text, text), { maxLength: 4 })
const u32 = fc.integer({ min: 0, max: 0xffff_ffff })

const stripedArb = fc
  .record({
    size: fc.integer({ min: 0, max: 5000 }),
    k: fc.integer({ min: 1, max: 6 }),
    m: fc.integer({ min: 1, max: 4 }),
    shardSize: fc.integer({ min: 1, max: 400 })
  })
  .chain(({ size, k, m, shardSize }) => {
    const stripes = stripeCount(makeGeometry(size, k, shardSize))
    const stripe = fc.record({
      nodes: fc.uniqueArray(text, { minLength: k + m, maxLength: k + m }),
      shardCrcs: fc.array(u32, { minLength: k + m, maxLength: k + m }),
      missing: missingArb(k + m, m)
    }).map(({ missing, ...rest }) => (missing === undefined ? rest : { ...rest, missing }))
    return fc.tuple(
      fc.constant(size),
      fc.constant<ObjectBody>({ kind: "striped", id: "b1", scheme: { dataShards: k, parityShards: m }, shardSize, stripes: [] }),
      fc.array(stripe, { minLength: stripes, maxLength: stripes })
    ).map(([s, body, list]) => [s, { ...body, stripes: list } as ObjectBody] as const)
  })

/** Ascending indices of up to `most` of `count` slots, or undefined (a healthy write). */
function missingArb(count: number, most: number): fc.Arbitrary<ReadonlyArray<number> | undefined> {
  return fc.option(
    fc.uniqueArray(fc.integer({ min: 0, max: count - 1 }), { minLength: 1, maxLength: Math.max(1, most) })
      .filter((list) => list.length <= most)
      .map((list) => [...list].sort((a, b) => a - b)),
    { nil: undefined }
  )
}

const simpleBodyArb: fc.Arbitrary<readonly [number, ObjectBody]> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((data) => [data.length, { kind: "inline", data }] as const),
  fc
    .tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.uniqueArray(text, { minLength: 2, maxLength: 5 }))
    .chain(([size, nodes]) =>
      missingArb(nodes.length, nodes.length - 1).map((missing) =>
        [size, (missing === undefined ? { kind: "replicated", id: "b1", nodes } : { kind: "replicated", id: "b1", nodes, missing }) as ObjectBody] as const
      )
    ),
  stripedArb
)

// A completed multipart upload: its parts are simple bodies of their own.
const bodyArb: fc.Arbitrary<readonly [number, ObjectBody]> = fc.oneof(
  simpleBodyArb,
  fc.array(simpleBodyArb, { maxLength: 3 }).map((list) => [
    list.reduce((sum, [size]) => sum + size, 0),
    { kind: "parts", parts: list.map(([size, body]) => ({ size, body: body as Exclude<ObjectBody, { kind: "parts" }> })) }
  ] as const)
)

const metaArb: fc.Arbitrary<ObjectMeta> = fc
  .record({
    bucket: text,
    key: text,
    versionId: text,
    createdMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    contentCrc32c: u32,
    checksums: pairs,
    userMetadata: pairs,
    body: bodyArb
  })
  .map(({ body: [size, body], ...rest }) => ({ ...rest, size, body }))

describe("object metadata encoding", () => {
  it("round-trips every record", () => {
    fc.assert(
      fc.property(metaArb, (meta) => {
        const decoded = decodeObjectMeta(encodeObjectMeta(meta))
        expect(Result.isSuccess(decoded)).toBe(true)
        expect(Result.getOrThrow(decoded)).toEqual(meta)
      }),
      { numRuns: 300 }
    )
  })

  it("rejects random bytes, truncations and flipped bits with ObjectMetaDecodeError only", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const decoded = decodeObjectMeta(bytes)
        expect(Result.isFailure(decoded)).toBe(true)
      }),
      { numRuns: 500 }
    )
    fc.assert(
      fc.property(metaArb, fc.nat(), fc.integer({ min: 0, max: 7 }), (meta, at, bit) => {
        const bytes = encodeObjectMeta(meta)
        const flipped = bytes.slice()
        flipped[at % bytes.length]! ^= 1 << bit
        const truncated = bytes.subarray(0, at % bytes.length)
        for (const damaged of [flipped, truncated]) {
          const decoded = decodeObjectMeta(damaged)
          expect(Result.isFailure(decoded) && decoded.failure instanceof ObjectMetaDecodeError).toBe(true)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("parses damaged records behind a resealed checksum into ObjectMetaDecodeError only", () => {
    const reseal = (body: Uint8Array) => {
      const out = new Uint8Array(body.length + 4)
      out.set(body)
      new DataView(out.buffer).setUint32(body.length, crc32c(body))
      return out
    }
    let parsedPastHeader = 0
    fc.assert(
      fc.property(metaArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (meta, edits) => {
        const body = encodeObjectMeta(meta).slice(0, -4)
        for (const [at, value] of edits) body[5 + (at % (body.length - 5))] = value
        const decoded = decodeObjectMeta(reseal(body))
        if (Result.isFailure(decoded)) {
          expect(decoded.failure).toBeInstanceOf(ObjectMetaDecodeError)
          if (!/checksum|magic|version/.test(decoded.failure.message)) parsedPastHeader++
        }
      }),
      { numRuns: 500 }
    )
    expect(parsedPastHeader).toBeGreaterThan(50)
  })

  it("checks consistency behind a valid checksum (a record written by a buggy encoder)", () => {
    const meta: ObjectMeta = {
      bucket: "b", key: "k", versionId: "v", size: 3, createdMs: 1, contentCrc32c: 0,
      checksums: [], userMetadata: [], body: { kind: "inline", data: Uint8Array.of(1, 2, 3) }
    }
    const good = encodeObjectMeta(meta)
    expect(Result.isSuccess(decodeObjectMeta(good))).toBe(true)
    // Rewrite the size field (after magic, version and three 1-byte strings) and re-seal the CRC.
    const bad = good.slice()
    const view = new DataView(bad.buffer)
    const sizeAt = 4 + 1 + 3 * 5
    expect(view.getUint32(sizeAt + 4)).toBe(3)
    view.setUint32(sizeAt + 4, 4)
    view.setUint32(bad.length - 4, crc32c(bad, 0, bad.length - 4))
    const decoded = decodeObjectMeta(bad)
    expect(Result.isFailure(decoded) && decoded.failure.message).toMatch(/inline data is 3 bytes, size 4/)
  })

  it("refuses to encode an inconsistent record", () => {
    const meta: ObjectMeta = {
      bucket: "b", key: "k", versionId: "v", size: 10, createdMs: 0, contentCrc32c: 0, checksums: [], userMetadata: [],
      body: { kind: "striped", id: "b1", scheme: { dataShards: 2, parityShards: 1 }, shardSize: 5, stripes: [{ nodes: ["a", "a", "b"], shardCrcs: [0, 0, 0] }] }
    }
    expect(() => encodeObjectMeta(meta)).toThrow(/two shards of a stripe on one node/)
  })

  it("writes version 1 for a healthy body (readable by older binaries) and version 2 only when shards are missing", () => {
    const stripe = { nodes: ["a", "b", "c"], shardCrcs: [1, 2, 3] }
    const meta = (missing?: ReadonlyArray<number>): ObjectMeta => ({
      bucket: "b", key: "k", versionId: "v", size: 10, createdMs: 0, contentCrc32c: 0, checksums: [], userMetadata: [],
      body: { kind: "striped", id: "b1", scheme: { dataShards: 2, parityShards: 1 }, shardSize: 5, stripes: [missing === undefined ? stripe : { ...stripe, missing }] }
    })
    expect(encodeObjectMeta(meta())[4]).toBe(1)
    const degraded = encodeObjectMeta(meta([2]))
    expect(degraded[4]).toBe(2)
    const decoded = decodeObjectMeta(degraded)
    expect(Result.isSuccess(decoded) && decoded.success.body).toEqual(meta([2]).body)
  })

  it("refuses a stripe with fewer than k shards written, or a body with no copy written", () => {
    const base = { bucket: "b", key: "k", versionId: "v", size: 10, createdMs: 0, contentCrc32c: 0, checksums: [], userMetadata: [] }
    expect(() =>
      encodeObjectMeta({
        ...base,
        body: { kind: "striped", id: "b1", scheme: { dataShards: 2, parityShards: 1 }, shardSize: 5, stripes: [{ nodes: ["a", "b", "c"], shardCrcs: [0, 0, 0], missing: [0, 2] }] }
      })
    ).toThrow(/2 of 3 missing, 2 must be written/)
    expect(() => encodeObjectMeta({ ...base, body: { kind: "replicated", id: "b1", nodes: ["a", "b"], missing: [0, 1] } })).toThrow(/2 of 2 missing/)
    expect(() => encodeObjectMeta({ ...base, body: { kind: "replicated", id: "b1", nodes: ["a", "b"], missing: [1, 0] } })).toThrow(/ascending/)
  })

  it("stamps the created time from the Clock service", async () => {
    const clock = Layer.succeed(Clock, { monotonicMs: Effect.succeed(5), wallMs: Effect.succeed(1_700_000_000_123), sleep: () => Effect.void })
    const meta = await Effect.runPromise(
      makeObjectMeta({
        bucket: "b", key: "k", versionId: "v", size: 0, contentCrc32c: 0, checksums: [], userMetadata: [],
        body: { kind: "inline", data: new Uint8Array(0) }
      }).pipe(Effect.provide(clock))
    )
    expect(meta.createdMs).toBe(1_700_000_000_123)
  })
})
