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
 * - Attributes (content type, standard headers, user metadata, tags, the
 *   client's checksums, an ETag) are opaque (name, value) pairs stored with
 *   the version; the store does not interpret them.
 */
import { Data, type Effect, type Stream } from "effect"

export type Attributes = ReadonlyArray<readonly [string, string]>

export interface BucketInfo {
  readonly name: string
  /** Whoever created it (an access key or user name); the store does not check access. */
  readonly owner: string
  readonly createdMs: number
  /** Opaque bucket settings (tagging, CORS, ...) kept by the protocol layer. */
  readonly attributes: Attributes
}

export interface ObjectInfo {
  readonly bucket: string
  readonly key: string
  /** Unique per put (also for overwrites of the same key). */
  readonly versionId: string
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
  readonly listBuckets: Effect.Effect<ReadonlyArray<BucketInfo>, ObjectStoreUnavailableError>
  /** Only an empty bucket (no objects, no uploads in progress) can be deleted. */
  readonly deleteBucket: (name: string) => Effect.Effect<void, NoSuchBucketError | BucketNotEmptyError | ObjectStoreUnavailableError>

  readonly putObject: <E>(input: PutObjectInput<E>) => Effect.Effect<
    ObjectInfo,
    E | NoSuchBucketError | PreconditionFailedError | ObjectBodyError | ObjectDataError | ObjectStoreUnavailableError
  >
  readonly headObject: (bucket: string, key: string) => Effect.Effect<ObjectInfo, NoSuchBucketError | NoSuchKeyError | ObjectStoreUnavailableError>
  /** `range` undefined: the whole object. A range past the end fails with `InvalidRangeError`. */
  readonly getObject: (bucket: string, key: string, range?: ByteRange) => Effect.Effect<
    GetObjectOutput,
    NoSuchBucketError | NoSuchKeyError | InvalidRangeError | ObjectStoreUnavailableError
  >
  /** Replaces a version's attributes in place (tagging); the body and versionId stay. */
  readonly updateObject: (bucket: string, key: string, attributes: Attributes, condition?: PutCondition) => Effect.Effect<
    ObjectInfo,
    NoSuchBucketError | NoSuchKeyError | PreconditionFailedError | ObjectStoreUnavailableError
  >
  /** Deleting a missing key succeeds (`existed: false`), as in S3. */
  readonly deleteObject: (bucket: string, key: string) => Effect.Effect<{ readonly existed: boolean }, NoSuchBucketError | ObjectStoreUnavailableError>
  readonly listObjects: (input: ListObjectsInput) => Effect.Effect<ListObjectsOutput, NoSuchBucketError | ObjectStoreUnavailableError>

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
export class NoSuchKeyError extends Data.TaggedError("NoSuchKeyError")<{ readonly bucket: string; readonly key: string }> {}
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
