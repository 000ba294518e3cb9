/**
 * Where object metadata lives in the Raft KV, and how it is scanned.
 *
 * Reserved keys start with NUL, so they never collide with keys of the KV
 * API (which refuses them):
 *   \0b/<bucket>                bucket record (JSON, versioned)
 *   \0o/<bucket>/<key>          the object's current version (object-meta record)
 *   \0u/<bucket>/<uploadId>     a multipart upload in progress (JSON, versioned)
 *   \0p/<uploadId>/<00001>      an uploaded part (object-meta record of the part)
 *   \0v/<bucket>/<key>\0<seq>   a non-current version of a versioned key (object-meta record);
 *                               <seq> is 10^15 - 1 - the version's sequence number, 15 digits,
 *                               so a key's versions sort newest first, and "\0" (which keys
 *                               cannot contain) sorts every version of "a" before key "a/b"
 *   \0d/<bodyId>                a body stored degraded (shards missing); the value is the key of
 *                               the record meant to name it (repair's dirty set, see repair.ts)
 * Bucket names cannot contain "/", so `<bucket>/` prefixes never overlap.
 */
import { Effect } from "effect"
import type { KvClient } from "../kv/client.ts"
import type { RangeItem } from "../kv/command.ts"
import { ObjectStoreUnavailableError } from "./object-api.ts"

export const BUCKET_PREFIX = "\u0000b/"
export const OBJECT_PREFIX = "\u0000o/"
export const UPLOAD_PREFIX = "\u0000u/"
export const PART_PREFIX = "\u0000p/"
export const VERSION_PREFIX = "\u0000v/"
export const DEGRADED_PREFIX = "\u0000d/"

/** Sequence numbers of a key's versions are 0 ≤ seq ≤ MAX_VERSION_SEQ. */
export const MAX_VERSION_SEQ = 999_999_999_999_999
/** The 15-digit, newest-first form of a version's sequence number. */
export const invertedSeq = (seq: number) => String(MAX_VERSION_SEQ - seq).padStart(15, "0")

export const bucketKey = (bucket: string) => `${BUCKET_PREFIX}${bucket}`
export const objectKey = (bucket: string, key: string) => `${OBJECT_PREFIX}${bucket}/${key}`
export const uploadKey = (bucket: string, uploadId: string) => `${UPLOAD_PREFIX}${bucket}/${uploadId}`
/** Every non-current version of one key lies in [versionsOf(b, k), afterPrefix(versionsOf(b, k))). */
export const versionsOf = (bucket: string, key: string) => `${VERSION_PREFIX}${bucket}/${key}\u0000`
export const versionKey = (bucket: string, key: string, seq: number) => `${versionsOf(bucket, key)}${invertedSeq(seq)}`
/** The sequence number in a version key. */
export const seqOfVersionKey = (k: string) => MAX_VERSION_SEQ - Number(k.slice(k.lastIndexOf("\u0000") + 1))
export const degradedKey = (bodyId: string) => `${DEGRADED_PREFIX}${bodyId}`
export const partKey = (uploadId: string, partNumber: number) => `${PART_PREFIX}${uploadId}/${String(partNumber).padStart(5, "0")}`

/** The first key after every key that starts with `prefix` (ends a range scan of it; "/" + 1 is "0"). */
export const afterPrefix = (prefix: string) => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)

/** The smallest key after `key`. */
export const keyAfter = (key: string) => `${key}\u0000`

/** Every item under `prefix`, read linearizably in pages of 1000. */
export const scanPrefix = (kv: KvClient, prefix: string): Effect.Effect<ReadonlyArray<RangeItem>, ObjectStoreUnavailableError> =>
  Effect.gen(function*() {
    const items: Array<RangeItem> = []
    let start = prefix
    for (;;) {
      const r = yield* Effect.mapError(kv.read({ op: "range", start, end: afterPrefix(prefix), limit: 1000 }), (e) =>
        new ObjectStoreUnavailableError({ message: e.message, ambiguous: false }))
      if (r.type !== "range") return yield* new ObjectStoreUnavailableError({ message: `range under ${JSON.stringify(prefix)}: ${r.type} result`, ambiguous: false })
      items.push(...r.items)
      if (!r.more || r.items.length === 0) return items
      start = keyAfter(r.items[r.items.length - 1]!.key)
    }
  })
