/**
 * The `ObjectStore` over the Raft KV (metadata) and `ObjectData` (bodies on
 * the shard stores), composed of its families of operations:
 * buckets.ts, objects.ts (put, get, head, update, delete), listing.ts and
 * multipart.ts, over catalog.ts (KV access) and commit.ts (the write path).
 * Metadata keys: see catalog-keys.ts.
 *
 * Every change of a key is a compare-and-set on the revision just read, so
 * concurrent writers of one key serialize through Raft, conditions (if
 * absent, if version) are checked atomically with the commit, and the
 * replaced version's body is known exactly and removed after the commit.
 * A body is written (fully redundant) before its record is committed, so a
 * committed record never points at missing shards; a body whose record never
 * commits is garbage for `garbage.ts`.
 */
import { Effect, Scope, Stream } from "effect"
import type { Crc32cShape } from "../checksum/crc32c-service.ts"
import { Clock } from "../clock/clock.ts"
import type { KvClient } from "../kv/client.ts"
import { Random } from "../random/random.ts"
import { makeBuckets } from "./buckets.ts"
import { makeCatalog } from "./catalog.ts"
import { makeCommits } from "./commit.ts"
import { makeListing } from "./listing.ts"
import { makeMultipart } from "./multipart.ts"
import type { ObjectStore } from "./object-api.ts"
import type { ObjectData } from "./object-data.ts"
import { makeObjectOperations } from "./objects.ts"

export interface ObjectStoreConfig {
  readonly kv: KvClient
  readonly data: ObjectData
  /** The Crc32c service, as the node was built with (the composite CRC of multipart objects). */
  readonly checksum: Crc32cShape
  /**
   * A body written longer ago than this is not committed (its shards may
   * already be garbage-collected); garbage collection waits twice as long.
   */
  readonly maxWriteMs?: number
}

export const makeObjectStore = (config: ObjectStoreConfig): Effect.Effect<ObjectStore, never, Clock | Random | Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const random = yield* Random
    const scope = yield* Scope.Scope
    const catalog = makeCatalog({ kv: config.kv, data: config.data, clock, random, checksum: config.checksum, scope, maxWriteMs: config.maxWriteMs ?? 30 * 60_000 })
    const buckets = makeBuckets(catalog)
    const commits = makeCommits(catalog)
    const objects = makeObjectOperations(catalog, buckets, commits)
    const listing = makeListing(catalog, buckets)
    const multipart = makeMultipart(catalog, buckets, commits)
    return {
      createBucket: buckets.createBucket,
      headBucket: buckets.headBucket,
      updateBucket: buckets.updateBucket,
      setBucketVersioning: buckets.setBucketVersioning,
      listBuckets: buckets.listBuckets,
      deleteBucket: buckets.deleteBucket,
      putObject: objects.putObject,
      headObject: objects.headObject,
      getObject: objects.getObject,
      updateObject: objects.updateObject,
      deleteObject: objects.deleteObject,
      listObjects: listing.listObjects,
      listVersions: listing.listVersions,
      createUpload: multipart.createUpload,
      uploadPart: multipart.uploadPart,
      completeUpload: multipart.completeUpload,
      abortUpload: multipart.abortUpload,
      listParts: multipart.listParts,
      listUploads: multipart.listUploads
    }
  })

/** Reads a stream fully (tests and small bodies only). */
export const collectBody = <E>(body: Stream.Stream<Uint8Array, E>): Effect.Effect<Uint8Array, E> =>
  Effect.map(Stream.runCollect(body), (chunks) => {
    const list = [...chunks]
    const out = new Uint8Array(list.reduce((n, c) => n + c.length, 0))
    let offset = 0
    for (const c of list) {
      out.set(c, offset)
      offset += c.length
    }
    return out
  })
