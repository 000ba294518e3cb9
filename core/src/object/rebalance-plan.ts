/**
 * Which shards of a body rebalancing moves, and where: pure functions over
 * a record's body and the member list.
 *
 * A stripe's shards belong on the node set placement gives for the current
 * members (`placeStripe` over `<body>.<stripe>`, or `<body>` for a
 * replicated body, as object-data.ts placed it at write time). The plan
 * keeps every shard already on a node of that set, whatever its slot, and
 * moves each of the others to a node of the set that holds none of the
 * stripe: the fewest moves that reach the set, and each move has one source
 * and one target (a node that joins takes shards; nobody else swaps).
 *
 * A stripe is left to repair (repair.ts) and not planned when it has a
 * shard recorded missing or a shard on a node that is no longer a member (a
 * drained or removed node: repair rebuilds it); the plan says it waits for
 * repair, so that the rebalancer comes back to it. A stripe is not planned
 * either when the members are too few to place it.
 */
import { crc32c } from "../checksum/crc32c.ts"
import { assert } from "../invariant/invariant.ts"
import type { ObjectBody, StripeRecord } from "./metadata.ts"
import type { SimpleBody } from "./object-data.ts"
import { PlacementError, placeStripe, type PlacementNode } from "./placement.ts"

/** One shard to move: slot `slot` of the stripe, from the node it is on to `to`. */
export interface SlotMove {
  readonly slot: number
  readonly from: string
  readonly to: string
}

/**
 * The moves that bring `placed` (the nodes of a stripe's slots, as recorded)
 * onto the node set `desired`: slots on a node of the set stay (the first
 * of two slots on one node stays), the others go to the set's nodes that
 * hold none of the stripe, in the set's order.
 */
export const slotMoves = (placed: ReadonlyArray<string>, desired: ReadonlyArray<string>): ReadonlyArray<SlotMove> => {
  assert(placed.length === desired.length, () => `${placed.length} slots placed, ${desired.length} wanted`)
  const want = new Set(desired)
  const kept = new Set<string>()
  const free = desired.filter((n) => !placed.includes(n))
  const moves: Array<SlotMove> = []
  placed.forEach((node, slot) => {
    if (want.has(node) && !kept.has(node)) kept.add(node)
    else moves.push({ slot, from: node, to: free.shift()! })
  })
  // Every node of the set not yet holding a shard receives exactly one.
  assert(free.length === 0 && moves.every((m) => m.to !== undefined), "a free target for every misplaced slot")
  return moves
}

/** Where placement puts `count` shards under `key` now; undefined when the members are too few. */
const desiredFor = (key: string, members: ReadonlyArray<PlacementNode>, count: number): ReadonlyArray<string> | undefined => {
  try {
    return placeStripe(key, members, count).map((n) => n.id)
  } catch (e) {
    if (e instanceof PlacementError) return undefined
    throw e
  }
}

/**
 * The moves a stripe (or a replicated body's copies) needs, and whether it
 * waits for repair: with shards recorded missing or on a node that left,
 * nothing moves now, and the pass must come back to it once repair is done.
 */
export const stripePlan = (
  placementKey: string,
  placed: ReadonlyArray<string>,
  missing: ReadonlyArray<number> | undefined,
  members: ReadonlyArray<PlacementNode>
): { readonly moves: ReadonlyArray<SlotMove>; readonly waitsForRepair: boolean } => {
  if (missing !== undefined && missing.length > 0) return { moves: [], waitsForRepair: true }
  if (!placed.every((node) => members.some((m) => m.id === node))) return { moves: [], waitsForRepair: true }
  const desired = desiredFor(placementKey, members, placed.length)
  return { moves: desired === undefined ? [] : slotMoves(placed, desired), waitsForRepair: false }
}

/** A stripe of a body as the rebalancer walks it. */
export interface PlannedStripe {
  readonly bodyId: string
  /** The stripe's index; undefined for a replicated body (its shard id is `<body>.r`). */
  readonly stripe: number | undefined
  readonly moves: ReadonlyArray<SlotMove>
  /** Shards recorded missing or on a departed node: repair's first, then maybe a move. */
  readonly waitsForRepair: boolean
  /** Whether bytes read for `slot` are its shard intact (the recorded CRC32C, or the copy's size). */
  readonly intact: (slot: number, bytes: Uint8Array) => boolean
}

export const shardIdOf = (bodyId: string, stripe: number | undefined, slot: number): string =>
  stripe === undefined ? `${bodyId}.r` : `${bodyId}.${stripe}.${slot}`

/** Every stripe of `body` (of `size` bytes; parts included) with the moves it needs now. */
export const bodyPlan = (body: ObjectBody, size: number, members: ReadonlyArray<PlacementNode>): ReadonlyArray<PlannedStripe> => {
  if (body.kind === "inline") return []
  if (body.kind === "parts") return body.parts.flatMap((part) => bodyPlan(part.body, part.size, members))
  if (body.kind === "replicated") {
    return [{ bodyId: body.id, stripe: undefined, ...stripePlan(body.id, body.nodes, body.missing, members), intact: (_, bytes) => bytes.length === size }]
  }
  return body.stripes.map((stripe: StripeRecord, s) => ({
    bodyId: body.id,
    stripe: s,
    ...stripePlan(`${body.id}.${s}`, stripe.nodes, stripe.missing, members),
    intact: (slot, bytes) => bytes.length === body.shardSize && crc32c(bytes) === stripe.shardCrcs[slot]
  }))
}

/** How many shards of `body` are not where the current members would place them (repair's cases excluded). */
export const misplacedShards = (body: ObjectBody, size: number, members: ReadonlyArray<PlacementNode>): number =>
  bodyPlan(body, size, members).reduce((n, s) => n + s.moves.length, 0)

/** The key of one slot of one stripe in the map of finished moves. */
export const slotKey = (bodyId: string, stripe: number | undefined, slot: number): string => `${bodyId}/${stripe ?? "r"}/${slot}`

/**
 * `body` with the moved slots on their new nodes: `done` maps the `slotKey`
 * of each slot whose copy is on its target to that target; every other slot
 * keeps its node.
 */
export const applyMoves = (body: ObjectBody, done: ReadonlyMap<string, string>): ObjectBody =>
  body.kind === "parts" ? { kind: "parts", parts: body.parts.map((p) => ({ size: p.size, body: applySimple(p.body, done) })) } : applySimple(body, done)

const applySimple = (body: SimpleBody, done: ReadonlyMap<string, string>): SimpleBody => {
  const moved = (bodyId: string, stripe: number | undefined, nodes: ReadonlyArray<string>) =>
    nodes.map((node, slot) => done.get(slotKey(bodyId, stripe, slot)) ?? node)
  if (body.kind === "inline") return body
  if (body.kind === "replicated") return { ...body, nodes: moved(body.id, undefined, body.nodes) }
  return { ...body, stripes: body.stripes.map((stripe, s) => ({ ...stripe, nodes: moved(body.id, s, stripe.nodes) })) }
}
