/**
 * The `ObjectStore` over the Raft KV (metadata) and `ObjectData` (bodies on
 * the shard stores).
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
import { Data, Effect, Result, Scope, Stream } from "effect"
import { Clock } from "../clock/clock.ts"
import { crc32c } from "../checksum/crc32c.ts"
import type { KvClient } from "../kv/client.ts"
import type { KvResult } from "../kv/command.ts"
import { Random } from "../random/random.ts"
import {
  afterPrefix,
  BUCKET_PREFIX,
  bucketKey,
  invertedSeq,
  keyAfter,
  MAX_VERSION_SEQ,
  OBJECT_PREFIX,
  objectKey,
  partKey,
  PART_PREFIX,
  scanPrefix,
  seqOfVersionKey,
  UPLOAD_PREFIX,
  uploadKey,
  VERSION_PREFIX,
  versionKey,
  versionsOf
} from "./catalog-keys.ts"
import type { RangeItem } from "../kv/command.ts"
import type { ObjectData } from "./object-data.ts"
import { decodeObjectMeta, encodeObjectMeta, MAX_PARTS, type ObjectBody, type ObjectMeta, type PartBody } from "./metadata.ts"
import {
  type Attributes,
  type BucketInfo,
  BucketExistsError,
  type FinishBody,
  BucketNotEmptyError,
  DeleteMarkerError,
  type DeleteObjectOutput,
  InvalidPartError,
  isVersionId,
  InvalidRangeError,
  NoSuchBucketError,
  NoSuchKeyError,
  NoSuchUploadError,
  NoSuchVersionError,
  NULL_VERSION,
  ObjectBodyError,
  type ObjectInfo,
  type ObjectStore,
  ObjectStoreUnavailableError,
  type PartInfo,
  PreconditionFailedError,
  type PutCondition,
  type UploadInfo,
  type VersionInfo
} from "./object-api.ts"

export interface ObjectStoreConfig {
  readonly kv: KvClient
  readonly data: ObjectData
  /**
   * A body written longer ago than this is not committed (its shards may
   * already be garbage-collected); garbage collection waits twice as long.
   */
  readonly maxWriteMs?: number
}

/** A metadata record failed to decode: Raft checksums every entry, so this is a bug, not rot. */
export class ObjectCatalogError extends Data.TaggedError("ObjectCatalogError")<{ readonly message: string }> {}

interface BucketRecord {
  readonly v: 1
  readonly name: string
  readonly owner: string
  readonly createdMs: number
  readonly attributes: Attributes
  /** Absent: unversioned (records from before versioning read so). */
  readonly versioning?: "enabled" | "suspended"
}

interface UploadRecord {
  readonly v: 1
  readonly bucket: string
  readonly key: string
  readonly uploadId: string
  readonly createdMs: number
  readonly attributes: Attributes
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const json = (value: unknown) => encoder.encode(JSON.stringify(value))

const unavailable = (e: { readonly _tag: string; readonly message: string }) =>
  new ObjectStoreUnavailableError({ message: e.message, ambiguous: e._tag === "KvAmbiguousError" })

/*
 * Versioning rides in a record's `checksums` pairs (never shown to clients), so the record format
 * stays as it is and records written before versioning read as unversioned:
 *   ["version-seq", n]     the version's sequence number among the key's versions (absent: 0, a
 *                          version written in an unversioned bucket); names its non-current key
 *   ["versioned", "1"]     written while versioning was enabled (absent: the "null" version)
 *   ["delete-marker", "1"] a delete marker (size 0, empty inline body)
 */
const SEQ = "version-seq"
const VERSIONED = "versioned"
const MARKER = "delete-marker"
const pairValue = (meta: ObjectMeta, name: string) => meta.checksums.find(([n]) => n === name)?.[1]
const seqOf = (meta: ObjectMeta) => Number(pairValue(meta, SEQ) ?? "0")
const isVersioned = (meta: ObjectMeta) => pairValue(meta, VERSIONED) !== undefined
export const isDeleteMarker = (meta: ObjectMeta) => pairValue(meta, MARKER) !== undefined
/** The public version id (see `ObjectInfo.version`). */
const publicVersion = (meta: ObjectMeta) => (isVersioned(meta) ? meta.versionId : pairValue(meta, SEQ) !== undefined ? NULL_VERSION : undefined)
/** The id a version listing or a version-id read knows the version by. */
const listedVersion = (meta: ObjectMeta) => publicVersion(meta) ?? NULL_VERSION

export const infoOf = (meta: ObjectMeta): ObjectInfo => ({
  bucket: meta.bucket,
  key: meta.key,
  versionId: meta.versionId,
  version: publicVersion(meta),
  size: meta.size,
  createdMs: meta.createdMs,
  crc32c: meta.contentCrc32c,
  attributes: meta.userMetadata,
  parts: meta.body.kind === "parts" ? meta.body.parts.length : 0
})

export const makeObjectStore = (config: ObjectStoreConfig): Effect.Effect<ObjectStore, never, Clock | Random | Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const random = yield* Random
    const scope = yield* Scope.Scope
    const kv = config.kv
    const data = config.data
    const maxWriteMs = config.maxWriteMs ?? 30 * 60_000

    // ---- KV access -------------------------------------------------------------------

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

    const decodeMeta = (bytes: Uint8Array): Effect.Effect<ObjectMeta> => {
      const r = decodeObjectMeta(bytes)
      return Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.die(new ObjectCatalogError({ message: r.failure.message }))
    }

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

    // ---- buckets ---------------------------------------------------------------------

    const readBucket = (name: string) =>
      Effect.gen(function*() {
        const r = yield* get(bucketKey(name))
        if (!r.found) return undefined
        return { record: JSON.parse(decoder.decode(r.value)) as BucketRecord, revision: r.revision }
      })

    const bucketInfo = (b: BucketRecord): BucketInfo => ({
      name: b.name,
      owner: b.owner,
      createdMs: b.createdMs,
      attributes: b.attributes,
      versioning: b.versioning ?? "unversioned"
    })

    const requireBucket = (name: string) =>
      Effect.flatMap(readBucket(name), (b) => b === undefined ? Effect.fail(new NoSuchBucketError({ bucket: name })) : Effect.succeed(b))

    const createBucket: ObjectStore["createBucket"] = (name, owner, attributes = []) =>
      Effect.gen(function*() {
        const record: BucketRecord = { v: 1, name, owner, createdMs: yield* wallMs, attributes }
        const r = yield* Effect.catchTag(cas(bucketKey(name), 0, json(record)), "ObjectBodyError", (e) => Effect.die(e))
        if (r.ok) return bucketInfo(record)
        const existing = yield* readBucket(name)
        return yield* new BucketExistsError({ bucket: name, owner: existing?.record.owner ?? "" })
      })

    const updateBucket: ObjectStore["updateBucket"] = (name, attributes) =>
      Effect.gen(function*() {
        for (;;) {
          const current = yield* requireBucket(name)
          const record: BucketRecord = { ...current.record, attributes }
          const r = yield* Effect.catchTag(cas(bucketKey(name), current.revision, json(record)), "ObjectBodyError", (e) => Effect.die(e))
          if (r.ok) return bucketInfo(record)
        }
      })

    const setBucketVersioning: ObjectStore["setBucketVersioning"] = (name, state) =>
      Effect.gen(function*() {
        for (;;) {
          const current = yield* requireBucket(name)
          const record: BucketRecord = { ...current.record, versioning: state }
          const r = yield* Effect.catchTag(cas(bucketKey(name), current.revision, json(record)), "ObjectBodyError", (e) => Effect.die(e))
          if (r.ok) return bucketInfo(record)
        }
      })

    const deleteBucket: ObjectStore["deleteBucket"] = (name) =>
      Effect.gen(function*() {
        for (;;) {
          const current = yield* requireBucket(name)
          const objects = yield* range(`${OBJECT_PREFIX}${name}/`, afterPrefix(`${OBJECT_PREFIX}${name}/`), 1)
          const versions = yield* range(`${VERSION_PREFIX}${name}/`, afterPrefix(`${VERSION_PREFIX}${name}/`), 1)
          const uploads = yield* range(`${UPLOAD_PREFIX}${name}/`, afterPrefix(`${UPLOAD_PREFIX}${name}/`), 1)
          if (objects.items.length > 0 || versions.items.length > 0 || uploads.items.length > 0) return yield* new BucketNotEmptyError({ bucket: name })
          const r = yield* Effect.catchTag(cas(bucketKey(name), current.revision, undefined), "ObjectBodyError", (e) => Effect.die(e))
          if (r.ok) return
        }
      })

    // ---- objects ---------------------------------------------------------------------

    const readObject = (bucket: string, key: string) =>
      Effect.gen(function*() {
        const r = yield* get(objectKey(bucket, key))
        if (!r.found) return undefined
        return { meta: yield* decodeMeta(r.value), revision: r.revision }
      })

    const conditionProblem = (current: ObjectMeta | undefined, condition: PutCondition | undefined): string | undefined => {
      if (condition === undefined) return undefined
      if (condition.ifAbsent === true && current !== undefined) return "the key exists"
      if (condition.ifVersion !== undefined && current?.versionId !== condition.ifVersion) return "the key's version differs"
      return undefined
    }

    /**
     * Commits `meta` as the key's current version if `condition` holds,
     * retrying on concurrent changes; returns the replaced version.
     */
    const commitObject = (meta: ObjectMeta, condition: PutCondition | undefined) =>
      Effect.gen(function*() {
        const value = encodeObjectMeta(meta)
        for (;;) {
          const current = yield* readObject(meta.bucket, meta.key)
          const problem = conditionProblem(current?.meta, condition)
          if (problem !== undefined) return yield* new PreconditionFailedError({ message: problem })
          const r = yield* cas(objectKey(meta.bucket, meta.key), current?.revision ?? 0, value)
          if (r.ok) return current?.meta
        }
      })

    /**
     * Writes a body and builds the record that will name it (not yet committed). A body that took
     * longer than `maxWriteMs` is refused here: garbage collection may already be removing it.
     */
    const writeRecord = <E>(
      input: { readonly bucket: string; readonly key: string; readonly body: Stream.Stream<Uint8Array, E>; readonly size: number | undefined; readonly finish: FinishBody<E> },
      checksums: ObjectMeta["checksums"]
    ) =>
      Effect.gen(function*() {
        const started = yield* clock.monotonicMs
        const bodyId = yield* newId
        const written = yield* data.write(bodyId, input.body, input.size)
        const attributes = yield* input.finish({ size: written.size, crc32c: written.crc32c })
        if ((yield* clock.monotonicMs) - started > maxWriteMs) {
          return yield* new ObjectBodyError({ message: `the body took longer than ${maxWriteMs} ms to arrive; send it again` })
        }
        const meta: ObjectMeta = {
          bucket: input.bucket,
          key: input.key,
          versionId: bodyId,
          size: written.size,
          createdMs: yield* wallMs,
          contentCrc32c: written.crc32c,
          checksums,
          userMetadata: attributes,
          body: written.body
        }
        return { meta, written }
      })

    /** A compare-and-set whose value is never too large (deletes, copies of committed records). */
    const casSmall = (key: string, expected: number, value: Uint8Array | undefined) =>
      Effect.catchTag(cas(key, expected, value), "ObjectBodyError", (e) => Effect.die(e))

    /** Removes every non-current null version of a key; returns their bodies. */
    const removeNullVersions = (bucket: string, key: string) =>
      Effect.gen(function*() {
        const freed: Array<ObjectBody> = []
        for (const item of yield* scanAll(versionsOf(bucket, key))) {
          const meta = yield* decodeMeta(item.value)
          if (isVersioned(meta)) continue
          const r = yield* casSmall(item.key, item.revision, undefined)
          if (r.ok) freed.push(meta.body)
        }
        return freed
      })

    /**
     * Commits `base` as the key's current version in a versioned (enabled or suspended) bucket, if
     * `condition` holds. The replaced current version is first copied to its non-current key (a
     * compare-and-set there too), unless both it and the new one are null versions (suspended:
     * the null version is replaced). A crash between the two writes leaves a copy of the current
     * version among the non-current ones; reads and listings ignore a non-current record with the
     * current version's id. Returns the committed record and the bodies no record names any more.
     */
    const commitVersion = (base: ObjectMeta, condition: PutCondition | undefined, mode: "enabled" | "suspended") =>
      Effect.gen(function*() {
        const { bucket, key } = base
        for (;;) {
          const current = yield* readObject(bucket, key)
          const currentMeta = current?.meta
          const problem = conditionProblem(currentMeta === undefined || isDeleteMarker(currentMeta) ? undefined : currentMeta, condition)
          if (problem !== undefined) return yield* new PreconditionFailedError({ message: problem })
          const newest = yield* range(versionsOf(bucket, key), afterPrefix(versionsOf(bucket, key)), 1)
          const seq = Math.max(currentMeta === undefined ? 0 : seqOf(currentMeta), newest.items.length === 0 ? 0 : seqOfVersionKey(newest.items[0]!.key)) + 1
          if (seq > MAX_VERSION_SEQ) return yield* Effect.die(new ObjectCatalogError({ message: `${key}: too many versions` }))
          const versionId = mode === "enabled"
            ? `${invertedSeq(seq)}-${(yield* random.nextUint32).toString(36)}${(yield* random.nextUint32).toString(36)}`
            : base.versionId
          const next: ObjectMeta = {
            ...base,
            versionId,
            checksums: [...base.checksums, [SEQ, String(seq)], ...(mode === "enabled" ? [[VERSIONED, "1"] as const] : [])]
          }
          const keep = currentMeta !== undefined && !(mode === "suspended" && !isVersioned(currentMeta))
          let created: { readonly key: string; readonly revision: number } | undefined
          if (keep) {
            const kept = versionKey(bucket, key, seqOf(currentMeta))
            const existing = yield* get(kept)
            const w = yield* casSmall(kept, existing.found ? existing.revision : 0, encodeObjectMeta(currentMeta))
            if (!w.ok) continue
            if (!existing.found) created = { key: kept, revision: w.revision }
          }
          const r = yield* cas(objectKey(bucket, key), current?.revision ?? 0, encodeObjectMeta(next))
          if (!r.ok) {
            // Someone else changed the key first: a copy only this attempt made would duplicate it.
            if (created !== undefined) yield* casSmall(created.key, created.revision, undefined)
            continue
          }
          const freed: Array<ObjectBody> = keep || currentMeta === undefined ? [] : [currentMeta.body]
          if (mode === "suspended") freed.push(...(yield* removeNullVersions(bucket, key)))
          return { meta: next, freed }
        }
      })

    /** Commits a new current version as the bucket's versioning asks; returns the bodies to remove. */
    const commitAny = (meta: ObjectMeta, condition: PutCondition | undefined, mode: BucketRecord["versioning"]) =>
      mode === undefined
        ? Effect.map(commitObject(meta, condition), (replaced) => ({ meta, freed: replaced === undefined ? [] : [replaced.body] }))
        : commitVersion(meta, condition, mode)

    const putObject: ObjectStore["putObject"] = (input) =>
      Effect.gen(function*() {
        // The versioning read here applies to this put (like S3, a change of it is not instant for puts in flight).
        const bucket = yield* requireBucket(input.bucket)
        const { meta, written } = yield* writeRecord(input, [])
        const committed = yield* Effect.tapError(commitAny(meta, input.condition, bucket.record.versioning), (e) =>
          // Not committed (or unknown): an unambiguous failure frees the body now; otherwise GC decides.
          e._tag === "ObjectStoreUnavailableError" && e.ambiguous ? Effect.void : discard(written.body))
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
        return { info: infoOf(meta), range: wanted, body: data.read(meta.body, meta.size, wanted) }
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
    const deleteVersion = (bucket: string, key: string, versionId: string) =>
      Effect.gen(function*() {
        let removed: ObjectMeta | undefined
        for (;;) {
          const found = yield* findVersion(bucket, key, versionId)
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

    const deleteObject: ObjectStore["deleteObject"] = (bucket, key, versionId) =>
      Effect.gen(function*(): Effect.fn.Return<DeleteObjectOutput, NoSuchBucketError | ObjectStoreUnavailableError> {
        if (versionId !== undefined) return yield* deleteVersion(bucket, key, versionId)
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
          const committed = yield* commitVersion(marker, undefined, mode).pipe(
            Effect.catchTags({ ObjectBodyError: (e) => Effect.die(e), PreconditionFailedError: (e) => Effect.die(e) })
          )
          yield* Effect.forEach(committed.freed, discard, { discard: true })
          return { existed: true, version: listedVersion(committed.meta), deleteMarker: true }
        }
        for (;;) {
          const current = yield* readObject(bucket, key)
          if (current === undefined) return { existed: false, version: undefined, deleteMarker: false }
          const r = yield* casSmall(objectKey(bucket, key), current.revision, undefined)
          if (r.ok) {
            yield* discard(current.meta.body)
            return { existed: true, version: undefined, deleteMarker: false }
          }
        }
      })

    /** Reads [base + from, end of base) in pages, one item at a time. */
    const cursor = (base: string) => {
      let items: ReadonlyArray<RangeItem> = []
      let i = 0
      let more = true
      let next = base
      const peek = Effect.gen(function*() {
        while (i >= items.length && more) {
          const page = yield* range(next, afterPrefix(base), 256)
          items = page.items
          i = 0
          more = page.more && page.items.length > 0
          if (page.items.length > 0) next = keyAfter(page.items[page.items.length - 1]!.key)
        }
        return items[i]
      })
      return {
        peek,
        advance: () => void i++,
        seek: (from: string) => {
          items = []
          i = 0
          more = true
          next = base + from
        }
      }
    }

    const listVersions: ObjectStore["listVersions"] = (input) =>
      Effect.gen(function*() {
        yield* requireBucket(input.bucket)
        const currentBase = `${OBJECT_PREFIX}${input.bucket}/`
        const olderBase = `${VERSION_PREFIX}${input.bucket}/`
        const prefix = input.prefix ?? ""
        const delimiter = input.delimiter === "" ? undefined : input.delimiter
        const maxKeys = Math.max(0, Math.min(1000, input.maxKeys))
        // Both scans are ordered by the same strings: "<key>" for a current version, "<key>\0<seq>" for an older one.
        const currents = cursor(currentBase)
        const olders = cursor(olderBase)
        const seek = (from: string) => {
          currents.seek(from)
          olders.seek(from)
        }
        seek(prefix)
        let skipUntil: string | undefined
        const marker = input.keyMarker
        if (marker !== undefined && marker >= prefix) {
          if (input.versionIdMarker !== undefined) {
            seek(marker)
            skipUntil = input.versionIdMarker
          } else {
            const cut = delimiter === undefined || !marker.startsWith(prefix) ? -1 : marker.indexOf(delimiter, prefix.length)
            seek(cut >= 0 && cut + delimiter!.length === marker.length ? afterPrefix(marker) : `${marker}\u0001`)
          }
        }
        const versions: Array<VersionInfo> = []
        const commonPrefixes: Array<string> = []
        let lastKey: string | undefined
        let lastVersion: string | undefined
        let group: string | undefined
        let groupCurrent: string | undefined
        let groupNull = false
        const done = (truncated: boolean) => ({
          versions,
          commonPrefixes,
          truncated,
          nextKeyMarker: truncated ? lastKey : undefined,
          nextVersionIdMarker: truncated ? lastVersion : undefined
        })
        for (;;) {
          const c = yield* currents.peek
          const o = yield* olders.peek
          const cName = c?.key.slice(currentBase.length)
          const oRest = o?.key.slice(olderBase.length)
          if (cName === undefined && oRest === undefined) return done(false)
          const isCurrent = oRest === undefined || (cName !== undefined && cName < oRest)
          const item = isCurrent ? c! : o!
          const name = isCurrent ? cName! : oRest!.slice(0, oRest!.lastIndexOf("\u0000"))
          if (!name.startsWith(prefix)) return done(false)
          const cut = delimiter === undefined ? -1 : name.indexOf(delimiter, prefix.length)
          if (cut >= 0) {
            if (versions.length + commonPrefixes.length >= maxKeys) return done(true)
            const common = name.slice(0, cut + delimiter!.length)
            commonPrefixes.push(common)
            lastKey = common
            lastVersion = undefined
            skipUntil = undefined
            seek(afterPrefix(common))
            continue
          }
          if (isCurrent) currents.advance()
          else olders.advance()
          if (name !== group) {
            group = name
            groupCurrent = undefined
            groupNull = false
          }
          const meta = yield* decodeMeta(item.value)
          // A leftover copy of the current version, or a second null version (see commitVersion): hidden.
          if (!isCurrent && meta.versionId === groupCurrent) continue
          if (!isVersioned(meta)) {
            if (groupNull) continue
            groupNull = true
          }
          if (isCurrent) groupCurrent = meta.versionId
          if (skipUntil !== undefined) {
            if (name === marker) {
              if (listedVersion(meta) === skipUntil) skipUntil = undefined
              continue
            }
            skipUntil = undefined
          }
          if (versions.length + commonPrefixes.length >= maxKeys) return done(true)
          versions.push({ ...infoOf(meta), version: listedVersion(meta), isLatest: isCurrent, deleteMarker: isDeleteMarker(meta) })
          lastKey = name
          lastVersion = listedVersion(meta)
        }
      })

    const listObjects: ObjectStore["listObjects"] = (input) =>
      Effect.gen(function*() {
        yield* requireBucket(input.bucket)
        const base = `${OBJECT_PREFIX}${input.bucket}/`
        const prefix = input.prefix ?? ""
        const delimiter = input.delimiter === "" ? undefined : input.delimiter
        const maxKeys = Math.max(0, Math.min(1000, input.maxKeys))
        const objects: Array<ObjectInfo> = []
        const commonPrefixes: Array<string> = []
        // Resume strictly after startAfter, but never before the prefix.
        let start = base + prefix
        if (input.startAfter !== undefined && base + input.startAfter >= start) {
          const s = input.startAfter
          const cut = delimiter === undefined || !s.startsWith(prefix) ? -1 : s.indexOf(delimiter, prefix.length)
          // Resuming after a common prefix (a page's nextStartAfter) skips every key it rolled up.
          start = cut >= 0 && cut + delimiter!.length === s.length ? afterPrefix(base + s) : keyAfter(base + s)
        }
        let last: string | undefined
        const end = afterPrefix(base)
        for (;;) {
          const page = yield* range(start, end, Math.min(1000, maxKeys + 1))
          let jumped = false
          for (const item of page.items) {
            const key = item.key.slice(base.length)
            if (!key.startsWith(prefix)) return { objects, commonPrefixes, truncated: false, nextStartAfter: undefined }
            const meta = yield* decodeMeta(item.value)
            if (isDeleteMarker(meta)) continue
            if (objects.length + commonPrefixes.length === maxKeys) return { objects, commonPrefixes, truncated: true, nextStartAfter: last }
            const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length)
            if (cut >= 0) {
              const common = key.slice(0, cut + delimiter!.length)
              commonPrefixes.push(common)
              last = common
              // Skip every key under this common prefix.
              start = afterPrefix(base + common)
              jumped = true
              break
            }
            objects.push(infoOf(meta))
            last = key
          }
          if (!jumped) {
            if (!page.more || page.items.length === 0) return { objects, commonPrefixes, truncated: false, nextStartAfter: undefined }
            start = keyAfter(page.items[page.items.length - 1]!.key)
          }
          if (objects.length + commonPrefixes.length === maxKeys) {
            // Full: truncated only if another key follows.
            const next = yield* range(start, end, 1)
            const more = next.items.length > 0 && next.items[0]!.key.slice(base.length).startsWith(prefix)
            return { objects, commonPrefixes, truncated: more, nextStartAfter: more ? last : undefined }
          }
        }
      })

    const listBuckets: ObjectStore["listBuckets"] = Effect.map(scanAll(BUCKET_PREFIX), (items) =>
      items.map((item) => bucketInfo(JSON.parse(decoder.decode(item.value)) as BucketRecord)))

    // ---- multipart -------------------------------------------------------------------

    const readUpload = (bucket: string, key: string, uploadId: string) =>
      Effect.gen(function*() {
        const r = yield* get(uploadKey(bucket, uploadId))
        if (!r.found) return yield* new NoSuchUploadError({ uploadId })
        const record = JSON.parse(decoder.decode(r.value)) as UploadRecord
        if (record.key !== key) return yield* new NoSuchUploadError({ uploadId })
        return { record, revision: r.revision }
      })

    const uploadInfo = (u: UploadRecord): UploadInfo => ({ bucket: u.bucket, key: u.key, uploadId: u.uploadId, createdMs: u.createdMs, attributes: u.attributes })

    const partInfo = (meta: ObjectMeta): PartInfo => ({ partNumber: Number(meta.checksums[0]?.[1] ?? 0), size: meta.size, createdMs: meta.createdMs, attributes: meta.userMetadata })

    const readParts = (uploadId: string) =>
      Effect.flatMap(scanAll(`${PART_PREFIX}${uploadId}/`), (items) => Effect.forEach(items, (item) => decodeMeta(item.value)))

    const createUpload: ObjectStore["createUpload"] = (bucket, key, attributes) =>
      Effect.gen(function*() {
        yield* requireBucket(bucket)
        const uploadId = yield* newId
        const record: UploadRecord = { v: 1, bucket, key, uploadId, createdMs: yield* wallMs, attributes }
        yield* Effect.catchTag(cas(uploadKey(bucket, uploadId), 0, json(record)), "ObjectBodyError", (e) => Effect.die(e))
        return uploadInfo(record)
      })

    const uploadPart: ObjectStore["uploadPart"] = (input) =>
      Effect.gen(function*() {
        if (!Number.isSafeInteger(input.partNumber) || input.partNumber < 1 || input.partNumber > MAX_PARTS) {
          return yield* new ObjectBodyError({ message: `part numbers are 1..${MAX_PARTS}, got ${input.partNumber}` })
        }
        yield* readUpload(input.bucket, input.key, input.uploadId)
        // A part record is an object record of the part; its number rides in `checksums`.
        const { meta, written } = yield* writeRecord(input, [["part", String(input.partNumber)]])
        const key = partKey(input.uploadId, input.partNumber)
        const value = encodeObjectMeta(meta)
        for (;;) {
          const current = yield* get(key)
          const r = yield* Effect.tapError(cas(key, current.found ? current.revision : 0, value), () => discard(written.body))
          if (r.ok) {
            if (current.found) yield* discard((yield* decodeMeta(current.value)).body)
            return partInfo(meta)
          }
        }
      })

    const completeUpload: ObjectStore["completeUpload"] = (input) =>
      Effect.gen(function*() {
        const upload = yield* readUpload(input.bucket, input.key, input.uploadId)
        const versioning = (yield* readBucket(input.bucket))?.record.versioning
        const stored = yield* readParts(input.uploadId)
        const byNumber = new Map(stored.map((meta) => [partInfo(meta).partNumber, meta]))
        if (input.partNumbers.length === 0) return yield* new InvalidPartError({ partNumber: 0, message: "an upload needs at least one part" })
        const chosen: Array<ObjectMeta> = []
        let previous = 0
        for (const n of input.partNumbers) {
          if (n <= previous) return yield* new InvalidPartError({ partNumber: n, message: "part numbers must be listed in ascending order" })
          previous = n
          const meta = byNumber.get(n)
          if (meta === undefined) return yield* new InvalidPartError({ partNumber: n, message: `part ${n} was not uploaded` })
          chosen.push(meta)
        }
        const attributes = yield* input.finish(chosen.map(partInfo), uploadInfo(upload.record))
        const parts: Array<PartBody> = chosen.map((meta) => ({ size: meta.size, body: meta.body as PartBody["body"] }))
        const size = parts.reduce((sum, p) => sum + p.size, 0)
        // The CRC32C of the parts' CRC32Cs (big-endian), as S3's composite checksums are built.
        const crcs = new Uint8Array(4 * chosen.length)
        chosen.forEach((meta, i) => new DataView(crcs.buffer).setUint32(4 * i, meta.contentCrc32c))
        const versionId = yield* newId
        const meta: ObjectMeta = {
          bucket: input.bucket,
          key: input.key,
          versionId,
          size,
          createdMs: yield* wallMs,
          contentCrc32c: crc32c(crcs),
          checksums: [],
          userMetadata: attributes,
          body: { kind: "parts", parts }
        }
        const committed = yield* commitAny(meta, input.condition, versioning).pipe(
          Effect.catchTag("ObjectBodyError", (e) => Effect.fail(new InvalidPartError({ partNumber: 0, message: e.message })))
        )
        yield* Effect.forEach(committed.freed, discard, { discard: true })
        // The upload is over: its record and part records go; parts not chosen lose their bodies too.
        yield* Effect.ignore(cas(uploadKey(input.bucket, input.uploadId), upload.revision, undefined))
        const chosenIds = new Set(chosen.map((m) => m.versionId))
        yield* Effect.forEach(stored, (part) =>
          Effect.gen(function*() {
            yield* Effect.ignore(kv.write({ op: "delete", key: partKey(input.uploadId, partInfo(part).partNumber) }))
            if (!chosenIds.has(part.versionId)) yield* discard(part.body)
          }), { discard: true })
        return infoOf(committed.meta)
      })

    const abortUpload: ObjectStore["abortUpload"] = (bucket, key, uploadId) =>
      Effect.gen(function*() {
        const upload = yield* readUpload(bucket, key, uploadId)
        const r = yield* Effect.catchTag(cas(uploadKey(bucket, uploadId), upload.revision, undefined), "ObjectBodyError", (e) => Effect.die(e))
        if (!r.ok) return yield* new NoSuchUploadError({ uploadId })
        const parts = yield* readParts(uploadId)
        yield* Effect.forEach(parts, (part) =>
          Effect.gen(function*() {
            yield* Effect.ignore(kv.write({ op: "delete", key: partKey(uploadId, partInfo(part).partNumber) }))
            yield* discard(part.body)
          }), { discard: true })
      })

    const listParts: ObjectStore["listParts"] = (bucket, key, uploadId) =>
      Effect.gen(function*() {
        const upload = yield* readUpload(bucket, key, uploadId)
        const parts = yield* readParts(uploadId)
        return { upload: uploadInfo(upload.record), parts: parts.map(partInfo) }
      })

    const listUploads: ObjectStore["listUploads"] = (bucket, prefix = "") =>
      Effect.gen(function*() {
        yield* requireBucket(bucket)
        const items = yield* scanAll(`${UPLOAD_PREFIX}${bucket}/`)
        return items
          .map((item) => uploadInfo(JSON.parse(decoder.decode(item.value)) as UploadRecord))
          .filter((u) => u.key.startsWith(prefix))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.createdMs - b.createdMs))
      })

    return {
      createBucket,
      headBucket: (name) => Effect.map(requireBucket(name), (b) => bucketInfo(b.record)),
      updateBucket,
      setBucketVersioning,
      listBuckets,
      deleteBucket,
      putObject,
      headObject,
      getObject,
      updateObject,
      deleteObject,
      listObjects,
      listVersions,
      createUpload,
      uploadPart,
      completeUpload,
      abortUpload,
      listParts,
      listUploads
    }
  })

const describe = (r: KvResult) => (r.type === "error" ? `${r.code}: ${r.message}` : `unexpected ${r.type} result`)

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
