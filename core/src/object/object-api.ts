/**
 * The protocol-neutral object API: buckets, objects (put, get with ranges,
 * head, delete, list with prefix, delimiter and pagination) and multipart
 * assembly. The S3 layer, the simulator's object workload and any future
 * protocol sit on this interface; none of them sees shards, placement or
 * Raft.
 *
 * Semantics every implementation keeps:
 * - A put is acknowledged only after its metadata record is committed
 *   through Raft, which happens only after the body is durable with the
 *   scheme's full redundancy. Until then nothing is visible: a failed or
 *   interrupted put leaves the previous version in place, and its shards
 *   become garbage that collection removes.
 * - Operations on one key are linearizable: a get after an acknowledged put
 *   returns that put's bytes (or a later one's), never older bytes.
 * - Bytes a get returns are checked against the checksums recorded at write
 *   time; a get never returns bytes other than those written.
 * - Versioning (per bucket, as S3's): in an "unversioned" bucket a put
 *   replaces the key's version and a delete removes it. Once versioning is
 *   "enabled" (it can then only be "suspended", never turned off), a put
 *   keeps the replaced version as a non-current version, a delete without a
 *   version id adds a delete marker (a version without a body that makes
 *   the key look absent), and versions are read and removed one by one by
 *   version id. In a "suspended" bucket puts and deletes replace the key's
 *   "null" version (the one S3 names "null": written while the bucket was
 *   unversioned or suspended) and keep the others.
 * - Attributes (content type, standard headers, user metadata, tags, the
 *   client's checksums, an ETag) are opaque (name, value) pairs stored with
 *   the version; the store does not interpret them.
 */
import { Data, type Effect, type Stream } from "effect"

export type Attributes = ReadonlyArray<readonly [string, string]>

/** A bucket's versioning state; "unversioned" until it is first enabled. */
export type VersioningState = "unversioned" | "enabled" | "suspended"

/** The version id that names a key's "null" version. */
export const NULL_VERSION = "null"

/** Whether `id` is a version id this store could have given ("null" included); S3 answers InvalidArgument otherwise. */
export const isVersionId = (id: string): boolean => id === NULL_VERSION || /^\d{15}-[0-9a-z]{1,32}$/.test(id)

export interface BucketInfo {
  readonly name: string
  /** Whoever created it (an access key or user name); the store does not check access. */
  readonly owner: string
  readonly createdMs: number
  /** Opaque bucket settings (tagging, CORS, ...) kept by the protocol layer. */
  readonly attributes: Attributes
  readonly versioning: VersioningState
}

export interface ObjectInfo {
  readonly bucket: string
  readonly key: string
  /** Unique per put (also for overwrites of the same key); what `PutCondition.ifVersion` compares. */
  readonly versionId: string
  /**
   * The version's public id: `versionId` for a version written while the
   * bucket's versioning was enabled, "null" for one written while it was
   * suspended, undefined for one written in an unversioned bucket (a
   * version listing and version-id reads call it "null" too).
   */
  readonly version: string | undefined
  readonly size: number
  /** Wall-clock epoch ms on the node that accepted the put (Last-Modified). */
  readonly createdMs: number
  /** The body's CRC32C, as stored and verified on reads. */
  readonly crc32c: number
  /** What the protocol layer asked to keep with the version. */
  readonly attributes: Attributes
  /** Number of parts for an object assembled from a multipart upload; 0 otherwise. */
  readonly parts: number
}

/** A byte range [start, end) within the object; end ≤ size. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

/**
 * Called once the body is consumed, before anything is committed: the
 * protocol layer checks its digests here (a wrong Content-MD5 fails the put
 * and nothing becomes visible) and returns the attributes to store.
 */
export type FinishBody<E> = (body: { readonly size: number; readonly crc32c: number }) => Effect.Effect<Attributes, E>

/** Preconditions checked atomically with the commit (compare-and-set on the key). */
export interface PutCondition {
  /** Commit only if the current version has this versionId. */
  readonly ifVersion?: string
  /** Commit only if the key does not exist. */
  readonly ifAbsent?: boolean
}

export interface PutObjectInput<E> {
  readonly bucket: string
  readonly key: string
  readonly body: Stream.Stream<Uint8Array, E>
  /** The body's length when known (Content-Length); a body of another length fails with `ObjectBodyError`. */
  readonly size: number | undefined
  readonly finish: FinishBody<E>
  readonly condition?: PutCondition
}

export interface GetObjectOutput {
  readonly info: ObjectInfo
  /** The requested range (or the whole object). */
  readonly range: ByteRange
  /** Bytes of `range`, verified; fails with `ObjectDataError` if not enough healthy shards remain. */
  readonly body: Stream.Stream<Uint8Array, ObjectDataError>
}

/** One entry of a version listing. */
export interface VersionInfo extends ObjectInfo {
  /** The key's current version (a delete marker may be). */
  readonly isLatest: boolean
  /** A delete marker: size 0, no body. */
  readonly deleteMarker: boolean
}

export interface ListVersionsInput {
  readonly bucket: string
  readonly prefix?: string
  readonly delimiter?: string
  /**
   * Without `versionIdMarker`: list keys strictly after this one (a common
   * prefix, as `nextKeyMarker` may be, skips every key under it). With it:
   * list the versions of this key older than that version, then later keys.
   */
  readonly keyMarker?: string
  readonly versionIdMarker?: string
  /** 1..1000 versions and common prefixes. */
  readonly maxKeys: number
}

export interface ListVersionsOutput {
  /** Keys ascending; a key's versions newest first; delete markers included. */
  readonly versions: ReadonlyArray<VersionInfo>
  readonly commonPrefixes: ReadonlyArray<string>
  readonly truncated: boolean
  /** When truncated: continue with these as `keyMarker` and `versionIdMarker` (the latter undefined after a common prefix). */
  readonly nextKeyMarker: string | undefined
  readonly nextVersionIdMarker: string | undefined
}

export interface DeleteObjectOutput {
  /** Something was deleted (an unversioned key or a version by id existed; a delete marker hid a version). */
  readonly existed: boolean
  /** The public id of the delete marker written, or of the version removed by id; undefined in an unversioned bucket. */
  readonly version: string | undefined
  /** A delete marker was written, or the version removed by id was one. */
  readonly deleteMarker: boolean
}

export interface ListObjectsInput {
  readonly bucket: string
  readonly prefix?: string
  /** Keys containing it after the prefix are rolled up into common prefixes. */
  readonly delimiter?: string
  /**
   * List keys strictly after this one (a continuation point or a marker).
   * With a delimiter, a value that is itself a common prefix (as
   * `nextStartAfter` may be) skips every key under it.
   */
  readonly startAfter?: string
  /** 1..1000. */
  readonly maxKeys: number
}

export interface ListObjectsOutput {
  readonly objects: ReadonlyArray<ObjectInfo>
  readonly commonPrefixes: ReadonlyArray<string>
  /** More keys follow; continue after `nextStartAfter`. */
  readonly truncated: boolean
  readonly nextStartAfter: string | undefined
}

export interface UploadInfo {
  readonly bucket: string
  readonly key: string
  readonly uploadId: string
  readonly createdMs: number
  readonly attributes: Attributes
}

export interface PartInfo {
  readonly partNumber: number
  readonly size: number
  readonly createdMs: number
  readonly attributes: Attributes
}

export interface ObjectStore {
  readonly createBucket: (name: string, owner: string, attributes?: Attributes) => Effect.Effect<BucketInfo, BucketExistsError | ObjectStoreUnavailableError>
  readonly headBucket: (name: string) => Effect.Effect<BucketInfo, NoSuchBucketError | ObjectStoreUnavailableError>
  /** Replaces the bucket's attributes. */
  readonly updateBucket: (name: string, attributes: Attributes) => Effect.Effect<BucketInfo, NoSuchBucketError | ObjectStoreUnavailableError>
  /**
   * Enables or suspends versioning (a compare-and-set on the bucket record).
   * Suspending an unversioned bucket records "suspended": its keys then
   * behave as before (every put replaces the null version).
   */
  readonly setBucketVersioning: (name: string, state: "enabled" | "suspended") => Effect.Effect<BucketInfo, NoSuchBucketError | ObjectStoreUnavailableError>
  readonly listBuckets: Effect.Effect<ReadonlyArray<BucketInfo>, ObjectStoreUnavailableError>
  /** Only an empty bucket (no objects, no versions or delete markers, no uploads in progress) can be deleted. */
  readonly deleteBucket: (name: string) => Effect.Effect<void, NoSuchBucketError | BucketNotEmptyError | ObjectStoreUnavailableError>

  readonly putObject: <E>(input: PutObjectInput<E>) => Effect.Effect<
    ObjectInfo,
    E | NoSuchBucketError | PreconditionFailedError | ObjectBodyError | ObjectDataError | ObjectStoreUnavailableError
  >
  /**
   * The current version, or with `versionId` that version ("null": the
   * null version). A current delete marker fails with `NoSuchKeyError`
   * carrying the marker's version; a delete marker named by `versionId`
   * fails with `DeleteMarkerError`; a missing version with `NoSuchVersionError`.
   */
  readonly headObject: (bucket: string, key: string, versionId?: string) => Effect.Effect<
    ObjectInfo,
    NoSuchBucketError | NoSuchKeyError | NoSuchVersionError | DeleteMarkerError | ObjectStoreUnavailableError
  >
  /**
   * `range` undefined: the whole object. A range past the end fails with
   * `InvalidRangeError`. `versionId` as for `headObject`.
   */
  readonly getObject: (bucket: string, key: string, range?: ByteRange, versionId?: string) => Effect.Effect<
    GetObjectOutput,
    NoSuchBucketError | NoSuchKeyError | NoSuchVersionError | DeleteMarkerError | InvalidRangeError | ObjectStoreUnavailableError
  >
  /** Replaces the current version's attributes in place (tagging); the body and versionId stay. A current delete marker: `NoSuchKeyError`. */
  readonly updateObject: (bucket: string, key: string, attributes: Attributes, condition?: PutCondition) => Effect.Effect<
    ObjectInfo,
    NoSuchBucketError | NoSuchKeyError | PreconditionFailedError | ObjectStoreUnavailableError
  >
  /**
   * Without `versionId`: in an unversioned bucket removes the key (a missing
   * key succeeds with `existed: false`, as in S3); in an enabled bucket
   * adds a delete marker as the current version (even for a missing key);
   * in a suspended one the marker replaces the null version.
   * With `versionId`: removes that version for good and frees its body; if
   * it was the current version, the newest remaining one becomes current.
   * A missing version succeeds with `existed: false`.
   * With `condition.ifVersion` (the lifecycle worker's compare-and-set on the version it judged),
   * checked atomically with the change, otherwise `PreconditionFailedError` and nothing changes:
   * without `versionId`, the current version must be that record (its `versionId`; a current
   * delete marker never is); with `versionId`, the version that id names must be (a "null"
   * version replaced meanwhile is not). A version already gone succeeds with `existed: false`.
   */
  readonly deleteObject: (bucket: string, key: string, versionId?: string, condition?: { readonly ifVersion: string }) => Effect.Effect<
    DeleteObjectOutput,
    NoSuchBucketError | PreconditionFailedError | ObjectStoreUnavailableError
  >
  /** Current versions only; a key whose current version is a delete marker is left out. */
  readonly listObjects: (input: ListObjectsInput) => Effect.Effect<ListObjectsOutput, NoSuchBucketError | ObjectStoreUnavailableError>
  /** Every version and delete marker, in S3's order (keys ascending, each key's versions newest first). */
  readonly listVersions: (input: ListVersionsInput) => Effect.Effect<ListVersionsOutput, NoSuchBucketError | ObjectStoreUnavailableError>

  readonly createUpload: (bucket: string, key: string, attributes: Attributes) => Effect.Effect<UploadInfo, NoSuchBucketError | ObjectStoreUnavailableError>
  /** Parts are 1..10000; uploading a part number again replaces it. */
  readonly uploadPart: <E>(input: {
    readonly bucket: string
    readonly key: string
    readonly uploadId: string
    readonly partNumber: number
    readonly body: Stream.Stream<Uint8Array, E>
    readonly size: number | undefined
    readonly finish: FinishBody<E>
  }) => Effect.Effect<PartInfo, E | NoSuchUploadError | ObjectBodyError | ObjectDataError | ObjectStoreUnavailableError>
  /**
   * Assembles the listed parts, in the given (ascending) order, into the
   * object; parts not listed are discarded. `finish` sees the parts chosen
   * and returns the object's attributes (where the protocol layer checks
   * ETags and minimum part sizes).
   */
  readonly completeUpload: <E>(input: {
    readonly bucket: string
    readonly key: string
    readonly uploadId: string
    readonly partNumbers: ReadonlyArray<number>
    readonly finish: (parts: ReadonlyArray<PartInfo>, upload: UploadInfo) => Effect.Effect<Attributes, E>
    readonly condition?: PutCondition
  }) => Effect.Effect<ObjectInfo, E | NoSuchUploadError | InvalidPartError | PreconditionFailedError | ObjectStoreUnavailableError>
  readonly abortUpload: (bucket: string, key: string, uploadId: string) => Effect.Effect<void, NoSuchUploadError | ObjectStoreUnavailableError>
  readonly listParts: (bucket: string, key: string, uploadId: string) => Effect.Effect<{ readonly upload: UploadInfo; readonly parts: ReadonlyArray<PartInfo> }, NoSuchUploadError | ObjectStoreUnavailableError>
  readonly listUploads: (bucket: string, prefix?: string) => Effect.Effect<ReadonlyArray<UploadInfo>, NoSuchBucketError | ObjectStoreUnavailableError>
}

export class NoSuchBucketError extends Data.TaggedError("NoSuchBucketError")<{ readonly bucket: string }> {}
export class BucketExistsError extends Data.TaggedError("BucketExistsError")<{ readonly bucket: string; readonly owner: string }> {}
export class BucketNotEmptyError extends Data.TaggedError("BucketNotEmptyError")<{ readonly bucket: string }> {}
/** `deleteMarker`: the key's current version is a delete marker with this public version id. */
export class NoSuchKeyError extends Data.TaggedError("NoSuchKeyError")<{ readonly bucket: string; readonly key: string; readonly deleteMarker?: string }> {}
export class NoSuchVersionError extends Data.TaggedError("NoSuchVersionError")<{ readonly bucket: string; readonly key: string; readonly versionId: string }> {}
/** A read named a delete marker's version (S3: 405 MethodNotAllowed). */
export class DeleteMarkerError extends Data.TaggedError("DeleteMarkerError")<{ readonly bucket: string; readonly key: string; readonly versionId: string }> {}
export class NoSuchUploadError extends Data.TaggedError("NoSuchUploadError")<{ readonly uploadId: string }> {}
export class InvalidPartError extends Data.TaggedError("InvalidPartError")<{ readonly partNumber: number; readonly message: string }> {}
export class InvalidRangeError extends Data.TaggedError("InvalidRangeError")<{ readonly size: number }> {}
export class PreconditionFailedError extends Data.TaggedError("PreconditionFailedError")<{ readonly message: string }> {}
/** The body was shorter or longer than announced, or too large. */
export class ObjectBodyError extends Data.TaggedError("ObjectBodyError")<{ readonly message: string }> {}
/** Not enough healthy shards could be written or read. */
export class ObjectDataError extends Data.TaggedError("ObjectDataError")<{ readonly message: string }> {}
/**
 * The metadata could not be reached or the outcome of a change is unknown
 * (no leader, a timeout). `ambiguous`: the change may still take effect.
 */
export class ObjectStoreUnavailableError extends Data.TaggedError("ObjectStoreUnavailableError")<{
  readonly message: string
  readonly ambiguous: boolean
}> {}
