/**
 * Rebalancing: when the members change (a node joins, a capacity weight
 * changes), move the shards whose recorded node differs from where
 * placement puts them now, so that a new member receives its share.
 *
 * Work from what changed: the leader keeps a cursor in the Raft KV
 * (`\0c/rebalance`, written through Raft with a compare-and-set) naming the
 * membership it works for and the last record key it finished. When the
 * membership differs from the cursor's, a new pass starts at the first
 * record; each step reads one page of records after the cursor, moves what
 * they need, and advances the cursor, so a pass resumes where it stopped
 * after a leader change or a restart. Once a pass reaches the last record
 * it is followed by one settling pass, started once `maxMoveMs` (the
 * object store's maxWriteMs) has passed: a write that chose its nodes
 * before the change commits within that bound or not at all, so the
 * settling pass finds every record placed over the old members. Records
 * written later are placed over the new members by their writers. Then the
 * pass is done, and nothing is scanned until the membership changes again.
 *
 * A move: read the shard from its node and check it against the record
 * (CRC32C, or the copy's size), store it on the target (answered after the
 * target's fsync), then commit the new placement with a compare-and-set of
 * the record — the update path repair uses. The old copy is left in place:
 * garbage collection on its node removes it once its record places it
 * elsewhere for the grace period (garbage.ts). A crash before the commit
 * leaves the old placement, whole; a crash after it leaves the new one,
 * whole, plus a stray copy for GC. So a committed record never names fewer
 * intact shards than before a move. Moves of one record are committed
 * within `maxMoveMs` of the first copy, below GC's grace period, so GC never
 * removes a copy about to be committed.
 *
 * Throttled: at most `maxInFlight` shard moves at once (records of a page
 * in parallel, each one move at a time) and at most `bytesPerSecond` bytes
 * copied (a token bucket on this node's monotonic clock), so client traffic
 * keeps the disks and the network. Stripes with shards recorded missing or
 * on departed nodes are repair's (rebalance-plan.ts).
 */
import { Effect, Result } from "effect"
import type { ClockShape } from "../clock/clock.ts"
import type { KvClient } from "../kv/client.ts"
import type { RangeItem } from "../kv/command.ts"
import type { NodeId } from "../node/node-id.ts"
import { afterPrefix, keyAfter, OBJECT_PREFIX, PART_PREFIX, VERSION_PREFIX } from "./catalog-keys.ts"
import { decodeObjectMeta, encodeObjectMeta } from "./metadata.ts"
import { ObjectStoreUnavailableError } from "./object-api.ts"
import type { PlacementNode } from "./placement.ts"
import { applyMoves, bodyPlan, shardIdOf, slotKey } from "./rebalance-plan.ts"
import { decodeCursor, encodeCursor, freshCursor, membershipOf, type RebalanceCursor } from "./rebalance-cursor.ts"
import type { ShardTransfer } from "./shard-transfer.ts"
import { makeThrottle } from "./throttle.ts"

export type { RebalanceCursor } from "./rebalance-cursor.ts"

/** Where the leader's rebalance cursor lives (reserved: starts with NUL). */
export const REBALANCE_KEY = "\u0000c/rebalance"

/** The record prefixes a pass walks, in order. */
const PREFIXES = [OBJECT_PREFIX, VERSION_PREFIX, PART_PREFIX] as const

export interface RebalanceSettings {
  /** Shard moves in flight at once (default 4). */
  readonly maxInFlight?: number
  /** Bytes copied per second, all moves together (default 32 MiB/s). */
  readonly bytesPerSecond?: number
  /** Records read per step (default 100). */
  readonly pageSize?: number
  /** Moves of one record are committed within this long of the first copy (default: the object store's maxWriteMs). */
  readonly maxMoveMs?: number
  /** Moves per record committed at once, at most (default 32). */
  readonly movesPerCommit?: number
}

export interface RebalanceConfig extends RebalanceSettings {
  /** This node's clock: the throttle's and the commit bound's time. */
  readonly clock: ClockShape
  readonly kv: KvClient
  readonly transfer: ShardTransfer
  readonly nodes: () => ReadonlyArray<PlacementNode>
}

/** What one step did. */
export interface RebalanceStep {
  readonly records: number
  readonly shardsMoved: number
  readonly bytesMoved: number
  /** Shards found misplaced that could not move now (a node did not answer, a bad copy, a record changed). */
  readonly shardsDeferred: number
  /** The cursor after the step: the pass's totals and whether it is done. */
  readonly cursor: RebalanceCursor
  /**
   * This step ended a pass and started another, which should wait: "retry" when shards were left
   * unmoved (a node did not answer), "settle" after the first pass over a membership.
   */
  readonly passEnded: "retry" | "settle" | undefined
}

export interface Rebalancer {
  /** One page of the current pass (a new pass when the membership changed); a done pass does nothing. */
  readonly step: Effect.Effect<RebalanceStep, ObjectStoreUnavailableError>
  /** The cursor as stored (undefined: never written). */
  readonly cursor: Effect.Effect<RebalanceCursor | undefined, ObjectStoreUnavailableError>
}

const unavailable = (e: { readonly message: string }) => new ObjectStoreUnavailableError({ message: e.message, ambiguous: false })

interface Counts {
  moved: number
  bytes: number
  deferred: number
}

/** A plain function, not an Effect: building it runs no effect, so a node that never rebalances runs exactly as before. */
export const makeRebalancer = (config: RebalanceConfig): Rebalancer => {
  const { kv, transfer, clock } = config
  const maxInFlight = config.maxInFlight ?? 4
  const pageSize = config.pageSize ?? 100
  const maxMoveMs = config.maxMoveMs ?? 30 * 60_000
  const movesPerCommit = config.movesPerCommit ?? 32
  const throttle = makeThrottle(clock, config.bytesPerSecond ?? 32 * 1024 * 1024)

  const readCursor = Effect.gen(function*() {
    const r = yield* Effect.mapError(kv.read({ op: "get", key: REBALANCE_KEY }), unavailable)
    if (r.type !== "get" || !r.found) return { cursor: undefined, revision: "absent" as const }
    return { cursor: decodeCursor(r.value), revision: r.revision }
  })

  /** Copies one shard to its target; its size when the copy is on the target, undefined if not now. */
  const copyShard = (shardId: string, from: string, to: string, intact: (bytes: Uint8Array) => boolean) =>
    Effect.gen(function*() {
      const got = yield* Effect.result(transfer.get(from as NodeId, shardId))
      if (Result.isFailure(got) || !intact(got.success)) return undefined
      yield* throttle.take(got.success.length)
      const put = yield* Effect.result(transfer.put(to as NodeId, shardId, got.success))
      return Result.isSuccess(put) ? got.success.length : undefined
    })

  /**
   * One batch of a record's moves, committed with a compare-and-set. Returns whether moves
   * remain (the record needs another batch), or undefined when the record changed meanwhile.
   */
  const moveBatch = (item: RangeItem, members: ReadonlyArray<PlacementNode>, counts: Counts, first: boolean): Effect.Effect<boolean | undefined> =>
    Effect.gen(function*() {
      const decoded = decodeObjectMeta(item.value)
      // An unreadable record is repair's and the census's to report; nothing here can move.
      if (Result.isFailure(decoded)) return false
      const meta = decoded.success
      const plan = bodyPlan(meta.body, meta.size, members)
      // Stripes repair must fix first count as deferred: the pass comes back to them (once per record).
      if (first) counts.deferred += plan.filter((s) => s.waitsForRepair).length
      const todo = plan.flatMap((s) => s.moves.map((move) => ({ ...move, stripe: s })))
      if (todo.length === 0) return false
      const done = new Map<string, string>()
      let bytes = 0
      const started = yield* clock.monotonicMs
      for (const move of todo.slice(0, movesPerCommit)) {
        // Past the bound, GC may already judge the first copies stray: commit what is done.
        if ((yield* clock.monotonicMs) - started >= maxMoveMs / 2) break
        const { bodyId, stripe, intact } = move.stripe
        const size = yield* copyShard(shardIdOf(bodyId, stripe, move.slot), move.from, move.to, (b) => intact(move.slot, b))
        if (size === undefined) counts.deferred++
        else {
          done.set(slotKey(bodyId, stripe, move.slot), move.to)
          bytes += size
        }
      }
      if (done.size === 0) return false
      if ((yield* clock.monotonicMs) - started >= maxMoveMs) {
        // Too late to commit safely: the copies are strays for GC, the shards stay where they are.
        counts.deferred += done.size
        return false
      }
      const next = { ...meta, body: applyMoves(meta.body, done) }
      const written = yield* Effect.result(kv.write({ op: "cas", key: item.key, expected: item.revision, value: encodeObjectMeta(next) }))
      if (Result.isFailure(written) || written.success.type !== "cas" || !written.success.ok) return undefined
      counts.moved += done.size
      counts.bytes += bytes
      return todo.length > done.size
    })

  /** Brings one record to its placement, batch by batch, re-reading it after each commit or conflict. */
  const moveRecord = (first: RangeItem, members: ReadonlyArray<PlacementNode>, counts: Counts) =>
    Effect.gen(function*() {
      let item: RangeItem | undefined = first
      let conflicts = 0
      for (let round = 0; item !== undefined; round++) {
        const key: string = item.key
        const more = yield* moveBatch(item, members, counts, round === 0)
        if (more === false) return
        // Bounded: a record that keeps changing under us is left for the next pass (which it defers).
        if (more === undefined && ++conflicts >= 8) {
          counts.deferred++
          return
        }
        const r = yield* Effect.result(kv.read({ op: "get", key }))
        if (Result.isFailure(r)) {
          counts.deferred++
          return
        }
        // Gone (deleted meanwhile): nothing left to move.
        item = r.success.type === "get" && r.success.found ? { key, value: r.success.value, revision: r.success.revision } : undefined
      }
    })

  const readPage = (cursor: RebalanceCursor) =>
    Effect.gen(function*() {
      const prefix = PREFIXES[cursor.prefix]!
      const start = cursor.after === undefined ? prefix : keyAfter(cursor.after)
      const r = yield* Effect.mapError(kv.read({ op: "range", start, end: afterPrefix(prefix), limit: pageSize }), unavailable)
      if (r.type !== "range") return yield* new ObjectStoreUnavailableError({ message: `rebalance range: ${r.type} result`, ambiguous: false })
      return { items: r.items, more: r.more && r.items.length > 0 }
    })

  const step: Rebalancer["step"] = Effect.gen(function*() {
    const members = config.nodes()
    const membership = membershipOf(members)
    const stored = yield* readCursor
    const cursor = stored.cursor?.membership === membership ? stored.cursor : freshCursor(membership)
    const counts: Counts = { moved: 0, bytes: 0, deferred: 0 }
    if (cursor.done) return { records: 0, shardsMoved: 0, bytesMoved: 0, shardsDeferred: 0, cursor, passEnded: undefined }
    const page = yield* readPage(cursor)
    yield* Effect.forEach(page.items, (item) => moveRecord(item, members, counts), { concurrency: maxInFlight, discard: true })
    const last = page.items[page.items.length - 1]?.key
    const nextPrefix = page.more ? cursor.prefix : cursor.prefix + 1
    const deferred = cursor.shardsDeferred + counts.deferred
    const totals = { shardsMoved: cursor.shardsMoved + counts.moved, bytesMoved: cursor.bytesMoved + counts.bytes }
    const ended = nextPrefix >= PREFIXES.length
    // At the end of a pass: shards left behind, or the first pass over this membership, start another.
    const again = ended && (deferred > 0 || !cursor.settling)
    const next: RebalanceCursor = again
      ? freshCursor(membership, cursor.pass + 1, totals, true)
      : {
        ...cursor,
        prefix: Math.min(nextPrefix, PREFIXES.length - 1),
        after: page.more ? last : undefined,
        done: ended,
        records: cursor.records + page.items.length,
        ...totals,
        shardsDeferred: deferred
      }
    // A lost race (another leader moved the cursor) only repeats a page: moves are idempotent.
    yield* Effect.mapError(kv.write({ op: "cas", key: REBALANCE_KEY, expected: stored.revision, value: encodeCursor(next) }), unavailable)
    return { records: page.items.length, shardsMoved: counts.moved, bytesMoved: counts.bytes, shardsDeferred: counts.deferred, cursor: next, passEnded: !again ? undefined : deferred > 0 ? "retry" : "settle" }
  })

  return { step, cursor: Effect.map(readCursor, (c) => c.cursor) }
}
