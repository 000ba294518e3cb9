/**
 * Where object metadata lives in the Raft KV, and how it is scanned.
 *
 * Reserved keys start with NUL, so they never collide with keys of the KV
 * API (which refuses them):
 *   \0b/<bucket>                bucket record (JSON, versioned)
 *   \0o/<bucket>/<key>          the object's current version (object-meta record)
 *   \0u/<bucket>/<uploadId>     a multipart upload in progress (JSON, versioned)
 *   \0p/<uploadId>/<00001>      an uploaded part (object-meta record of the part)
 * Bucket names cannot contain "/", so `<bucket>/` prefixes never overlap.
 */
import { Effect } from "effect"
import type { KvClient } from "../kv/client.ts"
import type { RangeItem } from "../kv/command.ts"
import { ObjectStoreUnavailableError } from "./store.ts"

export const BUCKET_PREFIX = "\u0000b/"
export const OBJECT_PREFIX = "\u0000o/"
export const UPLOAD_PREFIX = "\u0000u/"
export const PART_PREFIX = "\u0000p/"

export const bucketKey = (bucket: string) => `${BUCKET_PREFIX}${bucket}`
export const objectKey = (bucket: string, key: string) => `${OBJECT_PREFIX}${bucket}/${key}`
export const uploadKey = (bucket: string, uploadId: string) => `${UPLOAD_PREFIX}${bucket}/${uploadId}`
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
