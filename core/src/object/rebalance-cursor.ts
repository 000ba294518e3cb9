/**
 * The rebalance cursor: how far the leader's current pass got, stored in
 * the Raft KV so that a new leader (or this one after a restart) resumes it.
 *
 * `membership` names the member list the pass places shards for (ids,
 * failure domains and weights, sorted): a pass for another list is stale,
 * and a new one starts at the first record. The totals count the whole
 * pass; `cairn cluster list` and the metrics show them.
 *
 * Stored as JSON with a version field; an unreadable value is treated as
 * no cursor (a fresh pass, which only costs a scan).
 */
import type { PlacementNode } from "./placement.ts"
import { decodeJsonRecord } from "../codec/json-record.ts"

export interface RebalanceCursor {
  readonly membership: string
  /** Which record prefix the pass is in (objects, versions, parts). */
  readonly prefix: number
  /** The last record key finished under that prefix; undefined: none yet. */
  readonly after: string | undefined
  /** The pass reached the last record with nothing left to move. */
  readonly done: boolean
  /** Passes over this membership so far (a pass that left shards unmoved is followed by another). */
  readonly pass: number
  /**
   * This is a settling pass: the first pass over a membership is followed by one more, started once
   * writes that chose their nodes before the change have committed or been refused (rebalance.ts).
   */
  readonly settling: boolean
  readonly records: number
  readonly shardsMoved: number
  readonly bytesMoved: number
  /** Misplaced shards this pass could not move (tried again by the next pass). */
  readonly shardsDeferred: number
}

const VERSION = 1
const encoder = new TextEncoder()

/** The member list as the cursor names it: order-free, so two nodes listing members differently agree. */
export const membershipOf = (members: ReadonlyArray<PlacementNode>): string =>
  members.map((m) => `${m.id}@${m.domain}*${m.weight ?? 1}`).sort().join(",")

export const freshCursor = (membership: string, pass = 1, totals = { shardsMoved: 0, bytesMoved: 0 }, settling = false): RebalanceCursor => ({
  membership,
  prefix: 0,
  after: undefined,
  done: false,
  pass,
  settling,
  records: 0,
  shardsMoved: totals.shardsMoved,
  bytesMoved: totals.bytesMoved,
  shardsDeferred: 0
})

export const encodeCursor = (c: RebalanceCursor): Uint8Array =>
  encoder.encode(JSON.stringify({ v: VERSION, ...c, after: c.after ?? null }))

const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0

export const decodeCursor = (bytes: Uint8Array): RebalanceCursor | undefined => {
  const o = decodeJsonRecord(bytes)
  if (o === undefined) return undefined
  if (o.v !== VERSION || typeof o.membership !== "string" || typeof o.done !== "boolean" || typeof o.settling !== "boolean") return undefined
  if (!(o.after === null || typeof o.after === "string")) return undefined
  const counts = [o.prefix, o.pass, o.records, o.shardsMoved, o.bytesMoved, o.shardsDeferred]
  if (!counts.every(isCount)) return undefined
  const [prefix, pass, records, shardsMoved, bytesMoved, shardsDeferred] = counts as ReadonlyArray<number>
  return { membership: o.membership, prefix: prefix!, after: o.after ?? undefined, done: o.done, pass: pass!, settling: o.settling, records: records!, shardsMoved: shardsMoved!, bytesMoved: bytesMoved!, shardsDeferred: shardsDeferred! }
}
