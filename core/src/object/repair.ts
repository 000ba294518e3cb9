/**
 * Repair: restores every committed body to full redundancy.
 *
 * A full sweep walks all object records (current and non-current versions)
 * and part records and checks each shard where the record says it is: read
 * back, checked against the CRC32C recorded at write time (a full copy
 * against the object's size); repair-body.ts says what is rebuilt where.
 * When shards moved or missing marks were cleared, the record is updated
 * with a compare-and-set (a concurrent overwrite wins, and its body is
 * repaired in a later sweep).
 *
 * Degraded bodies first: a write that stored fewer than k+m shards lists its
 * body in the dirty set (`\0d/<bodyId>`, see catalog-keys.ts). `sweepDegraded`
 * repairs only the records listed there — cheap enough to run every few
 * seconds, so missing shards are written soon after their node returns —
 * and removes an entry once its record is whole, or once the record has not
 * named the body for `staleEntryMs` (the write failed, or the record was
 * overwritten; a copy of it elsewhere is still found by full sweeps).
 *
 * One node repairs at a time (the caller runs sweeps on the Raft leader),
 * so two repairers never race to relocate one shard. A stripe with fewer
 * than k healthy shards cannot be repaired and is reported as lost.
 */
import { Effect, Result } from "effect"
import type { Crc32cShape } from "../checksum/crc32c-service.ts"
import type { KvClient } from "../kv/client.ts"
import type { RangeItem } from "../kv/command.ts"
import { DEGRADED_PREFIX, OBJECT_PREFIX, PART_PREFIX, scanPrefix, VERSION_PREFIX } from "./catalog-keys.ts"
import { decodeObjectMeta, encodeObjectMeta, isDegraded, type ObjectBody, type ObjectMeta } from "./metadata.ts"
import type { PlacementNode } from "./placement.ts"
import { emptyTally, makeBodyRepair, type LostStripe, type RepairTally } from "./repair-body.ts"
import type { ShardTransfer } from "./shard-transfer.ts"
import { ObjectStoreUnavailableError } from "./object-api.ts"

export type { LostStripe } from "./repair-body.ts"

export interface RepairConfig {
  readonly kv: KvClient
  /** The Crc32c service, as the node was built with: shards and copies are checked with it. */
  readonly checksum: Crc32cShape
  readonly transfer: ShardTransfer
  readonly nodes: () => ReadonlyArray<PlacementNode>
  /** This node's monotonic clock (how long a node has not answered, how old a dirty entry is). */
  readonly monotonicMs: Effect.Effect<number>
  /** A missing-at-write shard whose node has not answered this long is rebuilt elsewhere, if a member is free. */
  readonly relocateMissingAfterMs?: number
  /** A dirty-set entry whose record has not named its body this long is dropped. */
  readonly staleEntryMs?: number
}

export interface RepairReport {
  readonly records: number
  readonly shardsChecked: number
  readonly shardsRebuilt: number
  readonly shardsMoved: number
  /** Shards recorded missing at write that are now in place (found intact or rewritten). */
  readonly marksCleared: number
  /** Where each rebuilt shard had gone missing (one entry per shard). */
  readonly rebuiltFrom: ReadonlyArray<string>
  /** Stripes (or replicated bodies) with too few healthy shards to rebuild. */
  readonly lost: ReadonlyArray<string>
  /** The same, with where their shards were missing or bad. */
  readonly lostDetail: ReadonlyArray<LostStripe>
  /** Stripes with bad shards that could not be rebuilt now because too many nodes did not answer. */
  readonly unavailable: ReadonlyArray<string>
  /** Records still degraded after this sweep (their missing shards' nodes did not answer). */
  readonly stillDegraded: number
}

export interface Repairer {
  /** Every record in the catalogue. */
  readonly sweep: Effect.Effect<RepairReport, ObjectStoreUnavailableError>
  /** Only the records in the dirty set (bodies written degraded). */
  readonly sweepDegraded: Effect.Effect<RepairReport, ObjectStoreUnavailableError>
}

const decoder = new TextDecoder()
const unavailableError = (e: { readonly message: string }) => new ObjectStoreUnavailableError({ message: e.message, ambiguous: false })

export const makeRepairer = (config: RepairConfig): Repairer => {
  const { kv, transfer } = config
  const relocateAfterMs = config.relocateMissingAfterMs ?? 10 * 60_000
  const staleEntryMs = config.staleEntryMs ?? 60 * 60_000
  /** When this repairer first found a missing shard's node silent (by shard id), or a dirty entry unmatched. */
  const silentSince = new Map<string, number>()
  const unmatchedSince = new Map<string, number>()

  const sinceFirst = (map: Map<string, number>, key: string, limitMs: number) =>
    Effect.map(config.monotonicMs, (now) => {
      const first = map.get(key) ?? now
      map.set(key, first)
      return now - first >= limitMs
    })

  /** Repairs one record; returns whether it is still degraded (undefined: it changed under us, or is no record). */
  const repairRecord = (tally: RepairTally, item: RangeItem): Effect.Effect<boolean | undefined, ObjectStoreUnavailableError> =>
    Effect.gen(function*() {
      const decoded = decodeObjectMeta(item.value)
      if (Result.isFailure(decoded)) return undefined
      const meta = decoded.success
      // The members as they are now, after the record was read: every node it names had joined by
      // then. A list read when the sweep began may predate a node that a record written since places
      // shards on, and would judge those shards to be on a departed node and rebuild them elsewhere
      // (objects seed 500).
      const members = config.nodes()
      const { repairBody } = makeBodyRepair({
        transfer,
        members,
        tally,
        overdue: (shardId) => sinceFirst(silentSince, shardId, relocateAfterMs),
        answered: (shardId) => silentSince.delete(shardId),
        checksum: config.checksum
      })
      const before = { ...tally, rebuiltFrom: tally.rebuiltFrom.length, lost: tally.lost.length, lostDetail: tally.lostDetail.length, unavailable: tally.unavailable.length }
      let body: ObjectBody
      if (meta.body.kind === "parts") {
        const parts = []
        for (const part of meta.body.parts) parts.push({ size: part.size, body: yield* repairBody(part.body, part.size, undefined) })
        body = { kind: "parts", parts }
      } else {
        body = yield* repairBody(meta.body, meta.size, meta.contentCrc32c)
      }
      if (tally.shardsRebuilt > before.shardsRebuilt || tally.lost.length > before.lost || tally.unavailable.length > before.unavailable) {
        // A version overwritten or deleted meanwhile had its shards removed on purpose: what we found
        // (and rebuilt, now garbage for GC) says nothing about redundancy.
        const now = yield* Effect.mapError(kv.read({ op: "get", key: item.key }), unavailableError)
        if (now.type !== "get" || !now.found || now.revision !== item.revision) {
          Object.assign(tally, { shardsRebuilt: before.shardsRebuilt, shardsMoved: before.shardsMoved, marksCleared: before.marksCleared })
          tally.rebuiltFrom.length = before.rebuiltFrom
          tally.lost.length = before.lost
          tally.lostDetail.length = before.lostDetail
          tally.unavailable.length = before.unavailable
          return undefined
        }
      }
      if (tally.shardsMoved === before.shardsMoved && tally.marksCleared === before.marksCleared) return isDegraded(body)
      // Shards moved or marks cleared: record it, unless the record changed meanwhile.
      const next: ObjectMeta = { ...meta, body }
      const written = yield* Effect.result(kv.write({ op: "cas", key: item.key, expected: item.revision, value: encodeObjectMeta(next) }))
      return written._tag === "Success" && written.success.type === "cas" && written.success.ok ? isDegraded(body) : undefined
    })

  const reportOf = (tally: RepairTally, records: number, stillDegraded: number): RepairReport => ({
    records,
    shardsChecked: tally.shardsChecked,
    shardsRebuilt: tally.shardsRebuilt,
    shardsMoved: tally.shardsMoved,
    marksCleared: tally.marksCleared,
    rebuiltFrom: tally.rebuiltFrom,
    lost: tally.lost,
    lostDetail: tally.lostDetail,
    unavailable: tally.unavailable,
    stillDegraded
  })

  const sweep = Effect.gen(function*() {
    const tally = emptyTally()
    const items = [...(yield* scanPrefix(kv, OBJECT_PREFIX)), ...(yield* scanPrefix(kv, VERSION_PREFIX)), ...(yield* scanPrefix(kv, PART_PREFIX))]
    let stillDegraded = 0
    for (const item of items) if ((yield* repairRecord(tally, item)) === true) stillDegraded++
    return reportOf(tally, items.length, stillDegraded)
  })

  /** The dirty entry's record, when it still names the entry's body. */
  const recordNaming = (bodyId: string, recordKey: string) =>
    Effect.gen(function*() {
      const r = yield* Effect.mapError(kv.read({ op: "get", key: recordKey }), unavailableError)
      if (r.type !== "get" || !r.found) return undefined
      const decoded = decodeObjectMeta(r.value)
      if (Result.isFailure(decoded) || !namesBody(decoded.success.body, bodyId)) return undefined
      return { key: recordKey, value: r.value, revision: r.revision } satisfies RangeItem
    })

  const sweepDegraded = Effect.gen(function*() {
    const tally = emptyTally()
    const entries = yield* scanPrefix(kv, DEGRADED_PREFIX)
    let stillDegraded = 0
    for (const entry of entries) {
      const bodyId = entry.key.slice(DEGRADED_PREFIX.length)
      const item = yield* recordNaming(bodyId, decoder.decode(entry.value))
      let done: boolean
      if (item === undefined) {
        // Not committed yet, never committed, or overwritten: dropped once that has lasted.
        done = yield* sinceFirst(unmatchedSince, bodyId, staleEntryMs)
      } else {
        unmatchedSince.delete(bodyId)
        const degraded = yield* repairRecord(tally, item)
        done = degraded === false
        if (degraded === true) stillDegraded++
      }
      if (done) {
        unmatchedSince.delete(bodyId)
        yield* Effect.ignore(kv.write({ op: "cas", key: entry.key, expected: entry.revision, value: undefined }))
      }
    }
    return reportOf(tally, entries.length, stillDegraded)
  })

  return { sweep, sweepDegraded }
}

const namesBody = (body: ObjectBody, bodyId: string): boolean =>
  body.kind === "parts" ? body.parts.some((part) => namesBody(part.body, bodyId)) : body.kind !== "inline" && body.id === bodyId
