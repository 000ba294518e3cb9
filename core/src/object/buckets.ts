/**
 * Bucket operations of the `ObjectStore`: a bucket is one JSON record under
 * `bucketKey(name)`, changed only by compare-and-set on the revision just
 * read (so a concurrent change is retried, never lost). Deleting one checks,
 * in the same loop, that no current version, non-current version or upload
 * is left in it.
 */
import { Effect } from "effect"
import { afterPrefix, BUCKET_PREFIX, bucketKey, OBJECT_PREFIX, UPLOAD_PREFIX, VERSION_PREFIX } from "./catalog-keys.ts"
import { json, parseJson, type Catalog } from "./catalog.ts"
import { type Attributes, type BucketInfo, BucketExistsError, BucketNotEmptyError, NoSuchBucketError, type ObjectStore } from "./object-api.ts"

export interface BucketRecord {
  readonly v: 1
  readonly name: string
  readonly owner: string
  readonly createdMs: number
  readonly attributes: Attributes
  /** Absent: unversioned (records from before versioning read so). */
  readonly versioning?: "enabled" | "suspended"
}

const bucketInfo = (b: BucketRecord): BucketInfo => ({
  name: b.name,
  owner: b.owner,
  createdMs: b.createdMs,
  attributes: b.attributes,
  versioning: b.versioning ?? "unversioned"
})

export type Buckets = ReturnType<typeof makeBuckets>

export const makeBuckets = (catalog: Catalog) => {
  const { get, range, scanAll, casSmall, wallMs } = catalog

  const readBucket = (name: string) =>
    Effect.gen(function*() {
      const r = yield* get(bucketKey(name))
      if (!r.found) return undefined
      return { record: parseJson<BucketRecord>(r.value), revision: r.revision }
    })

  const requireBucket = (name: string) =>
    Effect.flatMap(readBucket(name), (b) => b === undefined ? Effect.fail(new NoSuchBucketError({ bucket: name })) : Effect.succeed(b))

  const createBucket: ObjectStore["createBucket"] = (name, owner, attributes = []) =>
    Effect.gen(function*() {
      const record: BucketRecord = { v: 1, name, owner, createdMs: yield* wallMs, attributes }
      const r = yield* casSmall(bucketKey(name), 0, json(record))
      if (r.ok) return bucketInfo(record)
      const existing = yield* readBucket(name)
      return yield* new BucketExistsError({ bucket: name, owner: existing?.record.owner ?? "" })
    })

  /** Replaces the bucket record with `change` of it, retrying on concurrent changes. */
  const changeBucket = (name: string, change: (record: BucketRecord) => BucketRecord) =>
    Effect.gen(function*() {
      for (;;) {
        const current = yield* requireBucket(name)
        const record = change(current.record)
        const r = yield* casSmall(bucketKey(name), current.revision, json(record))
        if (r.ok) return bucketInfo(record)
      }
    })

  const updateBucket: ObjectStore["updateBucket"] = (name, attributes) => changeBucket(name, (record) => ({ ...record, attributes }))

  const setBucketVersioning: ObjectStore["setBucketVersioning"] = (name, state) => changeBucket(name, (record) => ({ ...record, versioning: state }))

  const deleteBucket: ObjectStore["deleteBucket"] = (name) =>
    Effect.gen(function*() {
      for (;;) {
        const current = yield* requireBucket(name)
        const objects = yield* range(`${OBJECT_PREFIX}${name}/`, afterPrefix(`${OBJECT_PREFIX}${name}/`), 1)
        const versions = yield* range(`${VERSION_PREFIX}${name}/`, afterPrefix(`${VERSION_PREFIX}${name}/`), 1)
        const uploads = yield* range(`${UPLOAD_PREFIX}${name}/`, afterPrefix(`${UPLOAD_PREFIX}${name}/`), 1)
        if (objects.items.length > 0 || versions.items.length > 0 || uploads.items.length > 0) return yield* new BucketNotEmptyError({ bucket: name })
        const r = yield* casSmall(bucketKey(name), current.revision, undefined)
        if (r.ok) return
      }
    })

  const listBuckets: ObjectStore["listBuckets"] = Effect.map(scanAll(BUCKET_PREFIX), (items) =>
    items.map((item) => bucketInfo(parseJson<BucketRecord>(item.value))))

  const headBucket: ObjectStore["headBucket"] = (name) => Effect.map(requireBucket(name), (b) => bucketInfo(b.record))

  return { readBucket, requireBucket, createBucket, updateBucket, setBucketVersioning, deleteBucket, listBuckets, headBucket }
}
