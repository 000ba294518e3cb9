/**
 * The object catalog's access to the Raft KV, shared by the families of
 * object-store operations (buckets.ts, objects.ts, commit.ts, listing.ts,
 * multipart.ts): reads and compare-and-sets with typed errors, record
 * decoding, fresh ids and wall-clock stamps, and freeing replaced bodies in
 * the background. Key layout: catalog-keys.ts.
 */
import { Data, Effect, Result, type Scope } from "effect"
import type { Crc32cShape } from "../checksum/crc32c-service.ts"
import type { ClockShape } from "../clock/clock.ts"
import type { KvClient } from "../kv/client.ts"
import type { KvResult } from "../kv/command.ts"
import type { RandomShape } from "../random/random.ts"
import { objectKey, scanPrefix } from "./catalog-keys.ts"
import { ObjectBodyError, ObjectStoreUnavailableError } from "./object-api.ts"
import type { ObjectData } from "./object-data.ts"
import { decodeObjectMeta, type ObjectBody, type ObjectMeta } from "./metadata.ts"

/** A metadata record failed to decode: Raft checksums every entry, so this is a bug, not rot. */
export class ObjectCatalogError extends Data.TaggedError("ObjectCatalogError")<{ readonly message: string }> {}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
/** Bucket and upload records are JSON. */
export const json = (value: unknown) => encoder.encode(JSON.stringify(value))
export const parseJson = <A>(bytes: Uint8Array) => JSON.parse(decoder.decode(bytes)) as A

const unavailable = (e: { readonly _tag: string; readonly message: string }) =>
  new ObjectStoreUnavailableError({ message: e.message, ambiguous: e._tag === "KvAmbiguousError" })

const describe = (r: KvResult) => (r.type === "error" ? `${r.code}: ${r.message}` : `unexpected ${r.type} result`)

export interface CatalogConfig {
  readonly kv: KvClient
  readonly data: ObjectData
  readonly clock: ClockShape
  readonly random: RandomShape
  /** The Crc32c service, as the node was built with. */
  readonly checksum: Crc32cShape
  /** Where background removals of replaced bodies run. */
  readonly scope: Scope.Scope
  readonly maxWriteMs: number
}

export type Catalog = ReturnType<typeof makeCatalog>

export const makeCatalog = (config: CatalogConfig) => {
  const { kv, data, clock, random, scope } = config

  const get = (key: string) =>
    Effect.flatMap(Effect.mapError(kv.read({ op: "get", key }), unavailable), (r) =>
      r.type === "get" ? Effect.succeed(r) : Effect.die(new ObjectCatalogError({ message: `get ${JSON.stringify(key)}: ${describe(r)}` })))

  const range = (start: string, end: string, limit: number) =>
    Effect.flatMap(Effect.mapError(kv.read({ op: "range", start, end, limit }), unavailable), (r) =>
      r.type === "range" ? Effect.succeed(r) : Effect.die(new ObjectCatalogError({ message: `range: ${describe(r)}` })))

  const scanAll = (prefix: string) => scanPrefix(kv, prefix)

  /** Compare-and-set; `value` undefined deletes. Ok: the new revision; not ok: someone else changed it first. */
  const cas = (key: string, expected: number, value: Uint8Array | undefined) =>
    Effect.flatMap(
      Effect.mapError(kv.write({ op: "cas", key, expected: expected === 0 ? "absent" : expected, value }), unavailable),
      (r): Effect.Effect<{ readonly ok: boolean; readonly revision: number }, ObjectBodyError> => {
        if (r.type === "cas") return Effect.succeed(r)
        if (r.type === "error" && r.code === "value-too-large") {
          return Effect.fail(new ObjectBodyError({ message: `the metadata record is too large (${value?.length ?? 0} bytes; too many parts or stripes)` }))
        }
        return Effect.die(new ObjectCatalogError({ message: `cas ${JSON.stringify(key)}: ${describe(r)}` }))
      }
    )

  /** A compare-and-set whose value is never too large (deletes, copies of committed records). */
  const casSmall = (key: string, expected: number, value: Uint8Array | undefined) =>
    Effect.catchTag(cas(key, expected, value), "ObjectBodyError", (e) => Effect.die(e))

  const decodeMeta = (bytes: Uint8Array): Effect.Effect<ObjectMeta> => {
    const r = decodeObjectMeta(bytes)
    return Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.die(new ObjectCatalogError({ message: r.failure.message }))
  }

  /** The key's current version record, if any. */
  const readObject = (bucket: string, key: string) =>
    Effect.gen(function*() {
      const r = yield* get(objectKey(bucket, key))
      if (!r.found) return undefined
      return { meta: yield* decodeMeta(r.value), revision: r.revision }
    })

  const newId = Effect.gen(function*() {
    // Time first (roughly sortable), then 64 random bits: unique without coordination.
    const wall = Math.max(0, Math.floor(yield* clock.wallMs))
    const a = yield* random.nextUint32
    const b = yield* random.nextUint32
    return `${wall.toString(36)}-${a.toString(36)}${b.toString(36)}`
  })

  const wallMs = Effect.map(clock.wallMs, (ms) => Math.max(0, Math.floor(ms)))

  /** Removes a replaced body's shards in the background: the caller's answer does not wait for it. */
  const discard = (body: ObjectBody | undefined) =>
    body === undefined || body.kind === "inline" ? Effect.void : Effect.asVoid(Effect.forkIn(data.remove(body), scope))

  return { ...config, get, range, scanAll, cas, casSmall, decodeMeta, readObject, newId, wallMs, discard }
}
