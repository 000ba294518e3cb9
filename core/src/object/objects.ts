/**
 * Object operations of the `ObjectStore`: put, head, get (ranges), update
 * of attributes, delete, each by version id too. A put writes its body and
 * commits the record through commit.ts; a delete in a versioned bucket adds
 * a delete marker the same way, and a delete by version id removes that one
 * version for good (`deleteVersion`).
 */
import { Effect } from "effect"
import { afterPrefix, MAX_VERSION_SEQ, objectKey, versionKey, versionsOf } from "./catalog-keys.ts"
import type { Catalog } from "./catalog.ts"
import type { Buckets } from "./buckets.ts"
import { conditionProblem, type Commits } from "./commit.ts"
import { assert } from "../invariant/invariant.ts"
import { shardLocations } from "./object-data.ts"
import { encodeObjectMeta, type ObjectBody, type ObjectMeta } from "./metadata.ts"
import {
  DeleteMarkerError,
  type DeleteObjectOutput,
  InvalidRangeError,
  isVersionId,
  type NoSuchBucketError,
  NoSuchKeyError,
  NoSuchVersionError,
  NULL_VERSION,
  type ObjectStore,
  type ObjectStoreUnavailableError,
  PreconditionFailedError
} from "./object-api.ts"
import { infoOf, isDeleteMarker, isVersioned, listedVersion, MARKER, seqOf } from "./version-marks.ts"

/** Whether two bodies name a shard in common (inline bodies have none). */
const sharesShards = (a: ObjectBody, b: ObjectBody) => {
  const ids = new Set(shardLocations(a).map((loc) => loc.id))
  return shardLocations(b).some((loc) => ids.has(loc.id))
}

export const makeObjectOperations = (catalog: Catalog, buckets: Buckets, commits: Commits) => {
  const { data, get, range, scanAll, cas, casSmall, decodeMeta, readObject, newId, wallMs, discard } = catalog
  const { requireBucket } = buckets
  const { writeRecord, commitVersion, commitAny } = commits

  const putObject: ObjectStore["putObject"] = (input) =>
    Effect.gen(function*() {
      // The versioning read here applies to this put (like S3, a change of it is not instant for puts in flight).
      const bucket = yield* requireBucket(input.bucket)
      const { meta, written } = yield* writeRecord(input, [], objectKey(input.bucket, input.key))
      const committed = yield* Effect.tapError(commitAny(meta, input.condition, bucket.record.versioning), (e) =>
        // Not committed (or unknown): an unambiguous failure frees the body now; otherwise GC decides.
        e._tag === "ObjectStoreUnavailableError" && e.ambiguous ? Effect.void : discard(written.body))
      // The body this put wrote has a fresh id, so no record it replaced names it: freeing those never frees it.
      assert(committed.freed.every((body) => !sharesShards(body, written.body)), "a put frees the body it committed")
      yield* Effect.forEach(committed.freed, discard, { discard: true })
      return infoOf(committed.meta)
    })

  /** A version by its public id ("null" included): the current one first, then the non-current ones. */
  const findVersion = (bucket: string, key: string, versionId: string) =>
    Effect.gen(function*() {
      const current = yield* readObject(bucket, key)
      if (current !== undefined && (versionId === NULL_VERSION ? !isVersioned(current.meta) : isVersioned(current.meta) && current.meta.versionId === versionId)) {
        return { meta: current.meta, latest: true, kvKey: objectKey(bucket, key), revision: current.revision }
      }
      if (versionId === NULL_VERSION) {
        for (const item of yield* scanAll(versionsOf(bucket, key))) {
          const meta = yield* decodeMeta(item.value)
          if (!isVersioned(meta)) return { meta, latest: false, kvKey: item.key, revision: item.revision }
        }
        return undefined
      }
      if (!isVersionId(versionId)) return undefined
      const kvKey = versionKey(bucket, key, MAX_VERSION_SEQ - Number(versionId.slice(0, 15)))
      const r = yield* get(kvKey)
      if (!r.found) return undefined
      const meta = yield* decodeMeta(r.value)
      return isVersioned(meta) && meta.versionId === versionId ? { meta, latest: false, kvKey, revision: r.revision } : undefined
    })

  /** The record a head or get reads: the current version (not a delete marker), or the one named. */
  const readVisible = (bucket: string, key: string, versionId: string | undefined) =>
    Effect.gen(function*() {
      if (versionId === undefined) {
        const current = yield* readObject(bucket, key)
        if (current === undefined) {
          yield* requireBucket(bucket)
          return yield* new NoSuchKeyError({ bucket, key })
        }
        if (isDeleteMarker(current.meta)) return yield* new NoSuchKeyError({ bucket, key, deleteMarker: listedVersion(current.meta) })
        return current.meta
      }
      const found = yield* findVersion(bucket, key, versionId)
      if (found === undefined) {
        yield* requireBucket(bucket)
        return yield* new NoSuchVersionError({ bucket, key, versionId })
      }
      if (isDeleteMarker(found.meta)) return yield* new DeleteMarkerError({ bucket, key, versionId })
      return found.meta
    })

  const headObject: ObjectStore["headObject"] = (bucket, key, versionId) => Effect.map(readVisible(bucket, key, versionId), infoOf)

  const getObject: ObjectStore["getObject"] = (bucket, key, byteRange, versionId) =>
    Effect.gen(function*() {
      const meta = yield* readVisible(bucket, key, versionId)
      const wanted = byteRange ?? { start: 0, end: meta.size }
      if (!(0 <= wanted.start && wanted.start <= wanted.end && wanted.end <= meta.size) || (byteRange !== undefined && wanted.start >= meta.size && meta.size > 0)) {
        return yield* new InvalidRangeError({ size: meta.size })
      }
      return { info: infoOf(meta), range: wanted, body: data.read(meta.body, meta.size, wanted, meta.contentCrc32c) }
    })

  const updateObject: ObjectStore["updateObject"] = (bucket, key, attributes, condition) =>
    Effect.gen(function*() {
      for (;;) {
        const current = yield* readObject(bucket, key)
        if (current === undefined || isDeleteMarker(current.meta)) {
          yield* requireBucket(bucket)
          return yield* new NoSuchKeyError({ bucket, key })
        }
        const problem = conditionProblem(current.meta, condition)
        if (problem !== undefined) return yield* new PreconditionFailedError({ message: problem })
        const meta: ObjectMeta = { ...current.meta, userMetadata: attributes }
        const r = yield* Effect.catchTag(cas(objectKey(bucket, key), current.revision, encodeObjectMeta(meta)), "ObjectBodyError", (e) =>
          Effect.fail(new PreconditionFailedError({ message: e.message })))
        if (r.ok) return infoOf(meta)
      }
    })

  /**
   * Removes one version for good; the newest remaining version replaces a removed current one
   * (its non-current record stays behind as a hidden copy until removed here). Loops until the
   * version is found nowhere: removing a non-current record is followed by a compare-and-set of
   * the current record onto itself, a fence that fails every put or promotion that read the key
   * before, so none of them can bring the version back once this returns. The body is freed last.
   */
  const deleteVersion = (bucket: string, key: string, versionId: string, ifRecord: string | undefined) =>
    Effect.gen(function*() {
      let removed: ObjectMeta | undefined
      for (;;) {
        const found = yield* findVersion(bucket, key, versionId)
        // The condition is judged against the record this attempt's compare-and-set removes (a null
        // version replaced meanwhile is another record under the same public id).
        if (ifRecord !== undefined && removed === undefined && found !== undefined && found.meta.versionId !== ifRecord) {
          return yield* new PreconditionFailedError({ message: "the version was replaced" })
        }
        if (found === undefined) {
          if (removed === undefined) {
            yield* requireBucket(bucket)
            return { existed: false, version: versionId, deleteMarker: false }
          }
          yield* discard(removed.body)
          return { existed: true, version: listedVersion(removed), deleteMarker: isDeleteMarker(removed) }
        }
        if (found.latest) {
          const copy = versionKey(bucket, key, seqOf(found.meta))
          const older = yield* range(versionsOf(bucket, key), afterPrefix(versionsOf(bucket, key)), 2)
          const promoted = older.items.find((item) => item.key !== copy)
          const r = yield* casSmall(objectKey(bucket, key), found.revision, promoted?.value)
          if (!r.ok) continue
          removed = found.meta
          if (promoted !== undefined) yield* casSmall(promoted.key, promoted.revision, undefined)
          continue
        }
        const r = yield* casSmall(found.kvKey, found.revision, undefined)
        if (!r.ok) continue
        removed = found.meta
        const current = yield* get(objectKey(bucket, key))
        if (current.found) yield* casSmall(objectKey(bucket, key), current.revision, current.value)
      }
    })

  const deleteObject: ObjectStore["deleteObject"] = (bucket, key, versionId, condition) =>
    Effect.gen(function*(): Effect.fn.Return<DeleteObjectOutput, NoSuchBucketError | PreconditionFailedError | ObjectStoreUnavailableError> {
      if (versionId !== undefined) return yield* deleteVersion(bucket, key, versionId, condition?.ifVersion)
      const record = yield* requireBucket(bucket)
      const mode = record.record.versioning
      if (mode !== undefined) {
        const marker: ObjectMeta = {
          bucket,
          key,
          versionId: yield* newId,
          size: 0,
          createdMs: yield* wallMs,
          contentCrc32c: 0,
          checksums: [[MARKER, "1"]],
          userMetadata: [],
          body: { kind: "inline", data: new Uint8Array(0) }
        }
        // Only a condition can fail a marker's commit (it has no body to refuse).
        const committed = yield* commitVersion(marker, condition, mode).pipe(
          Effect.catchTags({ ObjectBodyError: (e) => Effect.die(e), PreconditionFailedError: (e) => condition === undefined ? Effect.die(e) : Effect.fail(e) })
        )
        yield* Effect.forEach(committed.freed, discard, { discard: true })
        return { existed: true, version: listedVersion(committed.meta), deleteMarker: true }
      }
      for (;;) {
        const current = yield* readObject(bucket, key)
        if (condition !== undefined && current?.meta.versionId !== condition.ifVersion) {
          return yield* new PreconditionFailedError({ message: "the key's version differs" })
        }
        if (current === undefined) return { existed: false, version: undefined, deleteMarker: false }
        const r = yield* casSmall(objectKey(bucket, key), current.revision, undefined)
        if (r.ok) {
          yield* discard(current.meta.body)
          return { existed: true, version: undefined, deleteMarker: false }
        }
      }
    })

  return { putObject, headObject, getObject, updateObject, deleteObject }
}
