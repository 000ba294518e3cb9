/**
 * Multipart uploads of the `ObjectStore`: an upload is a JSON record under
 * `uploadKey(bucket, uploadId)`, each uploaded part an object record of its
 * own under `partKey(uploadId, n)` (its body written as any object's is).
 * Completing an upload commits one record whose body lists the chosen
 * parts' bodies (through commit.ts, as a put would), then removes the
 * upload's records and frees the parts not chosen.
 */
import { Effect } from "effect"
import { PART_PREFIX, partKey, UPLOAD_PREFIX, uploadKey } from "./catalog-keys.ts"
import { json, parseJson, type Catalog } from "./catalog.ts"
import type { Buckets } from "./buckets.ts"
import type { Commits } from "./commit.ts"
import { assert } from "../invariant/invariant.ts"
import { encodeObjectMeta, MAX_PARTS, type ObjectMeta, type PartBody } from "./metadata.ts"
import {
  type Attributes,
  InvalidPartError,
  NoSuchUploadError,
  ObjectBodyError,
  type ObjectStore,
  type PartInfo,
  type UploadInfo
} from "./object-api.ts"
import { infoOf } from "./version-marks.ts"

interface UploadRecord {
  readonly v: 1
  readonly bucket: string
  readonly key: string
  readonly uploadId: string
  readonly createdMs: number
  readonly attributes: Attributes
}

const uploadInfo = (u: UploadRecord): UploadInfo => ({ bucket: u.bucket, key: u.key, uploadId: u.uploadId, createdMs: u.createdMs, attributes: u.attributes })

/** A part record's number rides in its `checksums`. */
const partInfo = (meta: ObjectMeta): PartInfo => ({ partNumber: Number(meta.checksums[0]?.[1] ?? 0), size: meta.size, createdMs: meta.createdMs, attributes: meta.userMetadata })

export const makeMultipart = (catalog: Catalog, buckets: Buckets, commits: Commits) => {
  const { kv, get, scanAll, cas, casSmall, decodeMeta, newId, wallMs, discard, checksum } = catalog
  const { readBucket, requireBucket } = buckets
  const { writeRecord, commitAny } = commits

  const readUpload = (bucket: string, key: string, uploadId: string) =>
    Effect.gen(function*() {
      const r = yield* get(uploadKey(bucket, uploadId))
      if (!r.found) return yield* new NoSuchUploadError({ uploadId })
      const record = parseJson<UploadRecord>(r.value)
      if (record.key !== key) return yield* new NoSuchUploadError({ uploadId })
      return { record, revision: r.revision }
    })

  const readParts = (uploadId: string) =>
    Effect.flatMap(scanAll(`${PART_PREFIX}${uploadId}/`), (items) => Effect.forEach(items, (item) => decodeMeta(item.value)))

  const createUpload: ObjectStore["createUpload"] = (bucket, key, attributes) =>
    Effect.gen(function*() {
      yield* requireBucket(bucket)
      const uploadId = yield* newId
      const record: UploadRecord = { v: 1, bucket, key, uploadId, createdMs: yield* wallMs, attributes }
      yield* casSmall(uploadKey(bucket, uploadId), 0, json(record))
      return uploadInfo(record)
    })

  const uploadPart: ObjectStore["uploadPart"] = (input) =>
    Effect.gen(function*() {
      if (!Number.isSafeInteger(input.partNumber) || input.partNumber < 1 || input.partNumber > MAX_PARTS) {
        return yield* new ObjectBodyError({ message: `part numbers are 1..${MAX_PARTS}, got ${input.partNumber}` })
      }
      yield* readUpload(input.bucket, input.key, input.uploadId)
      // A part record is an object record of the part; its number rides in `checksums`.
      const { meta, written } = yield* writeRecord(input, [["part", String(input.partNumber)]], partKey(input.uploadId, input.partNumber))
      const key = partKey(input.uploadId, input.partNumber)
      assert(partInfo(meta).partNumber === input.partNumber, "a part record carries the number of its key")
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
      const parts: Array<PartBody> = chosen.map((meta) => {
        // A part record's body was written as a single object's (ObjectData), so parts never nest.
        const body = meta.body
        assert(body.kind !== "parts", () => `part ${partInfo(meta).partNumber} of ${input.uploadId} is itself assembled`)
        return { size: meta.size, body }
      })
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
        contentCrc32c: checksum.crc32c(crcs),
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
      const r = yield* casSmall(uploadKey(bucket, uploadId), upload.revision, undefined)
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
        .map((item) => uploadInfo(parseJson<UploadRecord>(item.value)))
        .filter((u) => u.key.startsWith(prefix))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.createdMs - b.createdMs))
    })

  return { createUpload, uploadPart, completeUpload, abortUpload, listParts, listUploads }
}
