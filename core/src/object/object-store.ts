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
import { afterPrefix, BUCKET_PREFIX, bucketKey, keyAfter, OBJECT_PREFIX, objectKey, partKey, PART_PREFIX, scanPrefix, UPLOAD_PREFIX, uploadKey } from "./catalog-keys.ts"
import type { ObjectData } from "./object-data.ts"
import { decodeObjectMeta, encodeObjectMeta, MAX_PARTS, type ObjectBody, type ObjectMeta, type PartBody } from "./metadata.ts"
import {
  type Attributes,
  type BucketInfo,
  BucketExistsError,
  type FinishBody,
  BucketNotEmptyError,
  InvalidPartError,
  InvalidRangeError,
  NoSuchBucketError,
  NoSuchKeyError,
  NoSuchUploadError,
  ObjectBodyError,
  type ObjectInfo,
  type ObjectStore,
  ObjectStoreUnavailableError,
  type PartInfo,
  PreconditionFailedError,
  type PutCondition,
  type UploadInfo
} from "./store.ts"

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

export const infoOf = (meta: ObjectMeta): ObjectInfo => ({
  bucket: meta.bucket,
  key: meta.key,
  versionId: meta.versionId,
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

    const bucketInfo = (b: BucketRecord): BucketInfo => ({ name: b.name, owner: b.owner, createdMs: b.createdMs, attributes: b.attributes })

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

    const deleteBucket: ObjectStore["deleteBucket"] = (name) =>
      Effect.gen(function*() {
        for (;;) {
          const current = yield* requireBucket(name)
          const objects = yield* range(`${OBJECT_PREFIX}${name}/`, afterPrefix(`${OBJECT_PREFIX}${name}/`), 1)
          const uploads = yield* range(`${UPLOAD_PREFIX}${name}/`, afterPrefix(`${UPLOAD_PREFIX}${name}/`), 1)
          if (objects.items.length > 0 || uploads.items.length > 0) return yield* new BucketNotEmptyError({ bucket: name })
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

    const putObject: ObjectStore["putObject"] = (input) =>
      Effect.gen(function*() {
        yield* requireBucket(input.bucket)
        const { meta, written } = yield* writeRecord(input, [])
        const replaced = yield* Effect.tapError(commitObject(meta, input.condition), (e) =>
          // Not committed (or unknown): an unambiguous failure frees the body now; otherwise GC decides.
          e._tag === "ObjectStoreUnavailableError" && e.ambiguous ? Effect.void : discard(written.body))
        yield* discard(replaced?.body)
        return infoOf(meta)
      })

    const headObject: ObjectStore["headObject"] = (bucket, key) =>
      Effect.gen(function*() {
        const current = yield* readObject(bucket, key)
        if (current === undefined) {
          yield* requireBucket(bucket)
          return yield* new NoSuchKeyError({ bucket, key })
        }
        return infoOf(current.meta)
      })

    const getObject: ObjectStore["getObject"] = (bucket, key, byteRange) =>
      Effect.gen(function*() {
        const current = yield* readObject(bucket, key)
        if (current === undefined) {
          yield* requireBucket(bucket)
          return yield* new NoSuchKeyError({ bucket, key })
        }
        const meta = current.meta
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
          if (current === undefined) {
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

    const deleteObject: ObjectStore["deleteObject"] = (bucket, key) =>
      Effect.gen(function*() {
        for (;;) {
          const current = yield* readObject(bucket, key)
          if (current === undefined) {
            yield* requireBucket(bucket)
            return { existed: false }
          }
          const r = yield* Effect.catchTag(cas(objectKey(bucket, key), current.revision, undefined), "ObjectBodyError", (e) => Effect.die(e))
          if (r.ok) {
            yield* discard(current.meta.body)
            return { existed: true }
          }
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
            objects.push(infoOf(yield* decodeMeta(item.value)))
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
        const replaced = yield* commitObject(meta, input.condition).pipe(
          Effect.catchTag("ObjectBodyError", (e) => Effect.fail(new InvalidPartError({ partNumber: 0, message: e.message })))
        )
        yield* discard(replaced?.body)
        // The upload is over: its record and part records go; parts not chosen lose their bodies too.
        yield* Effect.ignore(cas(uploadKey(input.bucket, input.uploadId), upload.revision, undefined))
        const chosenIds = new Set(chosen.map((m) => m.versionId))
        yield* Effect.forEach(stored, (part) =>
          Effect.gen(function*() {
            yield* Effect.ignore(kv.write({ op: "delete", key: partKey(input.uploadId, partInfo(part).partNumber) }))
            if (!chosenIds.has(part.versionId)) yield* discard(part.body)
          }), { discard: true })
        return infoOf(meta)
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
      listBuckets,
      deleteBucket,
      putObject,
      headObject,
      getObject,
      updateObject,
      deleteObject,
      listObjects,
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
