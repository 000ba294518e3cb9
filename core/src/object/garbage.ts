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
 * A shard of a live body that its record places on another node (the old
 * copy of a shard that rebalancing or repair moved, the new copy of a move
 * whose commit failed) is removed the same way: after two sightings at
 * least `graceMs` apart. A move copies the shard first and commits the new
 * placement within `maxWriteMs` (rebalance.ts), so the copy it is about to
 * commit is never removed, and the old copy goes only after the commit.
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
  /** This node: a live body's shard is kept here only where its record places it here. */
  readonly self: string
  readonly store: ShardStore
  readonly kv: KvClient
  /** At least twice the object store's `maxWriteMs`; 0 (a planted bug for the simulator) removes at first sight. */
  readonly graceMs: number
}

export interface SweepReport {
  readonly localShards: number
  readonly orphanShards: number
  readonly removedShards: number
  /** Shards of live bodies whose records place them on other nodes (seen now). */
  readonly misplacedShards: number
  readonly removedPartRecords: number
}

export interface GarbageCollector {
  readonly sweep: Effect.Effect<SweepReport, ObjectStoreUnavailableError>
}

/** Body ids a record's body owns. */
export const bodyIds = (body: ObjectBody): ReadonlyArray<string> =>
  body.kind === "inline" ? [] : body.kind === "parts" ? body.parts.flatMap((p) => bodyIds(p.body)) : [body.id]

/** The shard ids a record's body places on `node` (missing-at-write slots included: their write may land). */
export const shardsPlacedOn = (body: ObjectBody, node: string, out: Set<string>): void => {
  if (body.kind === "parts") for (const part of body.parts) shardsPlacedOn(part.body, node, out)
  else if (body.kind === "replicated") {
    if (body.nodes.includes(node)) out.add(`${body.id}.r`)
  } else if (body.kind === "striped") {
    body.stripes.forEach((stripe, s) => stripe.nodes.forEach((n, i) => n === node && out.add(`${body.id}.${s}.${i}`)))
  }
}

export const makeGarbageCollector = (config: GarbageCollectorConfig): Effect.Effect<GarbageCollector, never, Clock> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const kv = config.kv
    /** Body id or part-record key → when this node first saw it unreferenced. */
    const orphanSince = new Map<string, number>()
    /** Shard id of a live body placed elsewhere → when this node first saw it so. */
    const misplacedSince = new Map<string, number>()

    const scan = (prefix: string) => scanPrefix(kv, prefix)

    /** Seen unreferenced now: true once it has been so for the whole grace period. */
    const expired = (id: string, now: number, since0: Map<string, number> = orphanSince): boolean => {
      // No grace (only the simulator's planted bug asks for it): removed at first sight.
      if (config.graceMs <= 0) return true
      const since = since0.get(id)
      if (since === undefined) {
        since0.set(id, now)
        return false
      }
      return now - since >= config.graceMs
    }

    /** Whether the record at `key`, read now, places `shard` on this node (a failed read counts as yes: keep it). */
    const placedHereNow = (key: string, shard: string) =>
      Effect.map(Effect.result(kv.read({ op: "get", key })), (r) => {
        if (r._tag === "Failure" || r.success.type !== "get") return true
        if (!r.success.found) return false
        const meta = decodeObjectMeta(r.success.value)
        if (meta._tag !== "Success") return true
        const here = new Set<string>()
        shardsPlacedOn(meta.success.body, config.self, here)
        return here.has(shard)
      })

    const sweep = Effect.gen(function*() {
      // Local shards first: anything written after this listing is not judged in this sweep.
      const local = yield* Effect.mapError(config.store.list, (e) => new ObjectStoreUnavailableError({ message: e.message, ambiguous: false }))
      const live = new Set<string>()
      const placedHere = new Set<string>()
      /** A record naming each live body: read again before a misplaced shard of it is removed. */
      const recordOf = new Map<string, string>()
      const keep = (body: ObjectBody, key: string) => {
        for (const id of bodyIds(body)) {
          live.add(id)
          recordOf.set(id, key)
        }
        shardsPlacedOn(body, config.self, placedHere)
      }
      // Current versions and the non-current versions of versioned keys alike keep their bodies.
      for (const item of [...(yield* scan(OBJECT_PREFIX)), ...(yield* scan(VERSION_PREFIX))]) {
        const meta = decodeObjectMeta(item.value)
        if (meta._tag === "Success") keep(meta.success.body, item.key)
      }
      const uploads = new Set((yield* scan(UPLOAD_PREFIX)).map((item) => item.key.slice(item.key.lastIndexOf("/") + 1)))
      const now = yield* clock.monotonicMs
      let removedPartRecords = 0
      const seenRecords = new Set<string>()
      for (const item of yield* scan(PART_PREFIX)) {
        const uploadId = item.key.slice(PART_PREFIX.length, item.key.lastIndexOf("/"))
        const meta = decodeObjectMeta(item.value)
        if (uploads.has(uploadId)) {
          if (meta._tag === "Success") keep(meta.success.body, item.key)
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
      const misplaced: Array<string> = []
      for (const [id, shards] of byBody) {
        if (live.has(id)) {
          orphanSince.delete(id)
          for (const shard of shards) if (!placedHere.has(shard)) misplaced.push(shard)
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
      for (const shard of misplaced) {
        if (!expired(shard, now, misplacedSince)) continue
        // A move back onto this node may have committed since the scan: the record decides.
        if (yield* placedHereNow(recordOf.get(bodyIdOfShard(shard))!, shard)) continue
        const r = yield* Effect.result(config.store.remove(shard))
        if (r._tag === "Success") removedShards++
        misplacedSince.delete(shard)
      }
      // Forget candidates that vanished on their own (removed eagerly, or a record that came back).
      for (const id of [...orphanSince.keys()]) if (!byBody.has(id) && !seenRecords.has(id)) orphanSince.delete(id)
      const stillMisplaced = new Set(misplaced)
      for (const shard of [...misplacedSince.keys()]) if (!stillMisplaced.has(shard)) misplacedSince.delete(shard)
      return { localShards: local.length, orphanShards, removedShards, removedPartRecords, misplacedShards: misplaced.length }
    })

    return { sweep }
  })
