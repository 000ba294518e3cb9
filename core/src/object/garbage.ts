/**
 * Garbage collection of shards: every node, on its own, removes the local
 * shards that no committed metadata record (a current version, a
 * non-current version of a versioned key, or a part) references — bodies
 * of deleted or overwritten versions whose eager removal was missed, bodies of writes
 * that never committed, parts of aborted or completed uploads that were not
 * chosen.
 *
 * A shard is removed only after it was seen unreferenced in two sweeps at
 * least `graceMs` apart (measured on this node's monotonic clock, so clock
 * skew between nodes does not matter). A write in progress has shards and no
 * record yet; the object store refuses to commit a body that took longer
 * than its `maxWriteMs`, and the grace is twice that, so a shard that may
 * still be committed is never removed.
 *
 * Part records whose upload is gone (a crash between completing or aborting
 * an upload and deleting its parts) are removed the same way.
 */
import { Effect } from "effect"
import { Clock } from "../clock/clock.ts"
import type { KvClient } from "../kv/client.ts"
import type { ShardStore } from "../shard-store/shard-store.ts"
import { type ObjectBody, decodeObjectMeta } from "./metadata.ts"
import { bodyIdOfShard } from "./object-data.ts"
import { OBJECT_PREFIX, PART_PREFIX, scanPrefix, UPLOAD_PREFIX, VERSION_PREFIX } from "./catalog-keys.ts"
import { ObjectStoreUnavailableError } from "./object-api.ts"

export interface GarbageCollectorConfig {
  readonly store: ShardStore
  readonly kv: KvClient
  /** At least twice the object store's `maxWriteMs`; 0 (a planted bug for the simulator) removes at first sight. */
  readonly graceMs: number
}

export interface SweepReport {
  readonly localShards: number
  readonly orphanShards: number
  readonly removedShards: number
  readonly removedPartRecords: number
}

export interface GarbageCollector {
  readonly sweep: Effect.Effect<SweepReport, ObjectStoreUnavailableError>
}

/** Body ids a record's body owns. */
export const bodyIds = (body: ObjectBody): ReadonlyArray<string> =>
  body.kind === "inline" ? [] : body.kind === "parts" ? body.parts.flatMap((p) => bodyIds(p.body)) : [body.id]

export const makeGarbageCollector = (config: GarbageCollectorConfig): Effect.Effect<GarbageCollector, never, Clock> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const kv = config.kv
    /** Body id or part-record key → when this node first saw it unreferenced. */
    const orphanSince = new Map<string, number>()

    const scan = (prefix: string) => scanPrefix(kv, prefix)

    /** Seen unreferenced now: true once it has been so for the whole grace period. */
    const expired = (id: string, now: number): boolean => {
      // No grace (only the simulator's planted bug asks for it): removed at first sight.
      if (config.graceMs <= 0) return true
      const since = orphanSince.get(id)
      if (since === undefined) {
        orphanSince.set(id, now)
        return false
      }
      return now - since >= config.graceMs
    }

    const sweep = Effect.gen(function*() {
      // Local shards first: anything written after this listing is not judged in this sweep.
      const local = yield* Effect.mapError(config.store.list, (e) => new ObjectStoreUnavailableError({ message: e.message, ambiguous: false }))
      const live = new Set<string>()
      // Current versions and the non-current versions of versioned keys alike keep their bodies.
      for (const item of [...(yield* scan(OBJECT_PREFIX)), ...(yield* scan(VERSION_PREFIX))]) {
        const meta = decodeObjectMeta(item.value)
        if (meta._tag === "Success") for (const id of bodyIds(meta.success.body)) live.add(id)
      }
      const uploads = new Set((yield* scan(UPLOAD_PREFIX)).map((item) => item.key.slice(item.key.lastIndexOf("/") + 1)))
      const now = yield* clock.monotonicMs
      let removedPartRecords = 0
      const seenRecords = new Set<string>()
      for (const item of yield* scan(PART_PREFIX)) {
        const uploadId = item.key.slice(PART_PREFIX.length, item.key.lastIndexOf("/"))
        const meta = decodeObjectMeta(item.value)
        if (uploads.has(uploadId)) {
          if (meta._tag === "Success") for (const id of bodyIds(meta.success.body)) live.add(id)
          continue
        }
        seenRecords.add(item.key)
        if (expired(item.key, now)) {
          const r = yield* Effect.result(kv.write({ op: "cas", key: item.key, expected: item.revision, value: undefined }))
          if (r._tag === "Success" && r.success.type === "cas" && r.success.ok) removedPartRecords++
          orphanSince.delete(item.key)
        }
      }
      const byBody = new Map<string, Array<string>>()
      for (const shard of local) {
        const id = bodyIdOfShard(shard)
        const list = byBody.get(id)
        if (list === undefined) byBody.set(id, [shard])
        else list.push(shard)
      }
      let orphanShards = 0
      let removedShards = 0
      for (const [id, shards] of byBody) {
        if (live.has(id)) {
          orphanSince.delete(id)
          continue
        }
        orphanShards += shards.length
        if (!expired(id, now)) continue
        for (const shard of shards) {
          const r = yield* Effect.result(config.store.remove(shard))
          if (r._tag === "Success") removedShards++
        }
        orphanSince.delete(id)
      }
      // Forget candidates that vanished on their own (removed eagerly, or a record that came back).
      for (const id of [...orphanSince.keys()]) if (!byBody.has(id) && !seenRecords.has(id)) orphanSince.delete(id)
      return { localShards: local.length, orphanShards, removedShards, removedPartRecords }
    })

    return { sweep }
  })
