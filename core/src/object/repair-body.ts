/**
 * Repair of one body: check every shard where its record says it is, and
 * bring the body back to full redundancy.
 *
 * A shard as found is its bytes when intact; "bad" when it is surely not
 * there intact (missing, rotten, on a node that left the cluster, or
 * unreadable twice in a row on a node that answers: a latent sector error);
 * "unknown" when its node did not answer — it is left alone (it may be
 * fine, and rewriting it would only race the node's return), except a
 * shard recorded missing at write (a degraded write) whose node has not
 * answered for `relocateMissingAfterMs`: that one is rebuilt onto a member
 * holding no other shard of the stripe, if there is one.
 *
 * Bad shards are rebuilt from k healthy shards of their stripe (or a good
 * copy) and written again — to the same node while it is a member, else to
 * a member that holds no other shard of the stripe. A shard recorded
 * missing that is found intact (its write landed after all) or rewritten
 * loses its mark. The caller records the new body when nodes or marks
 * changed.
 */
import { Effect } from "effect"
import type { Crc32cShape } from "../checksum/crc32c-service.ts"
import * as Erasure from "../erasure/index.ts"
import type { NodeId } from "../node/node-id.ts"
import type { StripeRecord } from "./metadata.ts"
import type { SimpleBody } from "./object-data.ts"
import type { PlacementNode } from "./placement.ts"
import { placeStripe } from "./placement.ts"
import type { ShardTransfer } from "./shard-transfer.ts"

type Found = Uint8Array | "bad" | "unknown"
/** As first read: "unreadable" when the node answered that its disk could not read the shard. */
type Checked = Found | "unreadable"
type Steps<A> = Generator<Effect.Effect<unknown>, A, unknown>

/** A stripe (or replicated body) too damaged to rebuild, with what the oracle needs to judge it. */
export interface LostStripe {
  readonly stripe: string
  /** Nodes of shards the record says were never written (a degraded write). */
  readonly missingAtWrite: ReadonlyArray<string>
  /** Nodes of the other shards found bad (missing, rotten, or on a departed node). */
  readonly bad: ReadonlyArray<string>
}

/** What repairing bodies found and did; one per sweep, shared by every body of it. */
export interface RepairTally {
  shardsChecked: number
  shardsRebuilt: number
  shardsMoved: number
  /** Missing-at-write marks cleared: the shard was found intact or rewritten. */
  marksCleared: number
  /** Where each rebuilt shard had been lost (shards never written, recorded missing, are not listed). */
  readonly rebuiltFrom: Array<string>
  readonly lost: Array<string>
  readonly lostDetail: Array<LostStripe>
  readonly unavailable: Array<string>
}

export const emptyTally = (): RepairTally => ({
  shardsChecked: 0,
  shardsRebuilt: 0,
  shardsMoved: 0,
  marksCleared: 0,
  rebuiltFrom: [],
  lost: [],
  lostDetail: [],
  unavailable: []
})

export interface BodyRepairContext {
  readonly transfer: ShardTransfer
  readonly members: ReadonlyArray<PlacementNode>
  readonly tally: RepairTally
  /** Whether a missing-at-write shard whose node keeps not answering may move now. */
  readonly overdue: (shardId: string, node: string) => Effect.Effect<boolean>
  /** Its node answered (or the shard is resolved): forget when it first did not. */
  readonly answered: (shardId: string) => void
  /** The Crc32c service, as the node was built with. */
  readonly checksum: Crc32cShape
}

const without = (list: ReadonlyArray<number> | undefined, cleared: ReadonlySet<number>): ReadonlyArray<number> | undefined => {
  const left = (list ?? []).filter((i) => !cleared.has(i))
  return left.length === 0 ? undefined : left
}

export const makeBodyRepair = (ctx: BodyRepairContext) => {
  const { transfer, members, tally } = ctx
  const { crc32c } = ctx.checksum
  const isMember = (id: string) => members.some((n) => n.id === id)

  const check = (node: string, id: string, intact: (bytes: Uint8Array) => boolean, evenIfSuspected = false): Effect.Effect<Checked> =>
    isMember(node)
      ? Effect.map(Effect.result(transfer.get(node as NodeId, id, { evenIfSuspected })), (r) =>
        r._tag === "Success"
          ? (intact(r.success) ? r.success : "bad")
          : r.failure.reason === "not-found" || r.failure.reason === "corrupt" ? "bad" : r.failure.reason === "error" ? "unreadable" : "unknown")
      : Effect.succeed("bad")

  /**
   * Reads each unreadable shard once more; unreadable again, it is bad, and is rewritten on its
   * node. A latent sector error fails every read until the shard is rewritten, a passing read error
   * rarely twice. Taken for a silent node instead, such a shard was never rebuilt: its stripe stayed
   * a shard short for good, and rebalancing could never move it (objects seed 181).
   */
  function* readAgain(checked: ReadonlyArray<Checked>, nodes: ReadonlyArray<string>, ids: ReadonlyArray<string>, intact: (i: number) => (bytes: Uint8Array) => boolean): Steps<Array<Found>> {
    const found: Array<Found> = []
    for (let i = 0; i < checked.length; i++) {
      const first = checked[i]!
      const again = first === "unreadable" ? yield* check(nodes[i]!, ids[i]!, intact(i)) : first
      found.push(again === "unreadable" ? "bad" : again)
    }
    return found
  }

  /** A member for a relocated shard: not already used by the body's stripe. */
  const replacement = (key: string, used: ReadonlyArray<string>): string | undefined => {
    const free = members.filter((n) => !used.includes(n.id))
    return free.length === 0 ? undefined : placeStripe(key, free, 1)[0]!.id
  }

  /** Which slots to rewrite: the bad ones, and missing-at-write ones whose node is overdue. */
  const slotsToRewrite = (ids: ReadonlyArray<string>, placed: ReadonlyArray<string>, found: ReadonlyArray<Found>, missing: ReadonlyArray<number> | undefined) =>
    Effect.gen(function*() {
      const slots: Array<number> = []
      for (let i = 0; i < found.length; i++) {
        if (found[i] === "bad") slots.push(i)
        else if (found[i] === "unknown" && missing?.includes(i) === true && (yield* ctx.overdue(ids[i]!, placed[i]!))) slots.push(i)
        else if (found[i] instanceof Uint8Array) ctx.answered(ids[i]!)
      }
      return slots
    })

  /**
   * Writes a good copy into each of `slots`: to its node while that is a member that answers,
   * else to a member holding no other shard of the body. Returns where each shard is now and
   * which slots now hold their shard.
   */
  const rewrite = (
    placed: ReadonlyArray<string>,
    found: ReadonlyArray<Found>,
    slots: ReadonlyArray<number>,
    missing: ReadonlyArray<number> | undefined,
    copy: (i: number) => { readonly id: string; readonly data: Uint8Array; readonly placementKey: string }
  ): Effect.Effect<{ readonly nodes: ReadonlyArray<string>; readonly written: ReadonlySet<number> }> =>
    Effect.gen(function*() {
      const nodes = [...placed]
      const written = new Set<number>()
      for (const i of slots) {
        const { id, data, placementKey } = copy(i)
        const home = isMember(nodes[i]!) && found[i] === "bad"
        const target = home ? nodes[i]! : replacement(placementKey, nodes)
        if (target === undefined) continue
        const put = yield* Effect.result(transfer.put(target as NodeId, id, data))
        if (put._tag === "Failure") continue
        tally.shardsRebuilt++
        // A shard never written is not one that went missing: `rebuiltFrom` names where shards were lost.
        if (missing?.includes(i) !== true) tally.rebuiltFrom.push(nodes[i]!)
        written.add(i)
        ctx.answered(id)
        if (target !== nodes[i]) {
          nodes[i] = target
          tally.shardsMoved++
        }
      }
      return { nodes, written }
    })

  /** Slots holding an intact shard although the record says it was never written. */
  const landedAfterAll = (found: ReadonlyArray<Found>, missing: ReadonlyArray<number> | undefined): ReadonlySet<number> =>
    new Set((missing ?? []).filter((i) => found[i] instanceof Uint8Array))

  const recordLost = (stripe: string, placed: ReadonlyArray<string>, found: ReadonlyArray<Found>, missing: ReadonlyArray<number> | undefined) => {
    tally.lost.push(stripe)
    tally.lostDetail.push({
      stripe,
      missingAtWrite: (missing ?? []).map((i) => placed[i]!),
      bad: placed.filter((_, i) => found[i] === "bad" && missing?.includes(i) !== true)
    })
  }

  /** `crc`: the body's CRC32C from its record, as reads check a copy (undefined for a part, whose CRC is not kept). */
  const repairReplicated = (body: Extract<SimpleBody, { readonly kind: "replicated" }>, size: number, crc: number | undefined): Effect.Effect<SimpleBody> =>
    Effect.gen(function*() {
      const id = `${body.id}.r`
      const intact = (bytes: Uint8Array) => bytes.length === size && (crc === undefined || crc32c(bytes) === crc)
      const copies = yield* readAgain(yield* Effect.forEach(body.nodes, (node) => check(node, id, intact), { concurrency: "unbounded" }), body.nodes, body.nodes.map(() => id), () => intact)
      tally.shardsChecked += copies.length
      const good = copies.find((c): c is Uint8Array => c instanceof Uint8Array)
      if (good === undefined) {
        if (copies.includes("unknown")) tally.unavailable.push(body.id)
        else recordLost(body.id, body.nodes, copies, body.missing)
        return body
      }
      const slots = yield* slotsToRewrite(body.nodes.map(() => id), body.nodes, copies, body.missing)
      const { nodes, written } = yield* rewrite(body.nodes, copies, slots, body.missing, (i) => ({ id, data: good, placementKey: `${body.id}.r.${i}` }))
      const cleared = new Set([...landedAfterAll(copies, body.missing), ...written])
      tally.marksCleared += (body.missing ?? []).filter((i) => cleared.has(i)).length
      const missing = without(body.missing, cleared)
      return missing === undefined ? { kind: "replicated", id: body.id, nodes } : { kind: "replicated", id: body.id, nodes, missing }
    })

  const repairStripe = (body: Extract<SimpleBody, { readonly kind: "striped" }>, s: number): Effect.Effect<StripeRecord> =>
    Effect.gen(function*() {
      const stripe = body.stripes[s]!
      const k = body.scheme.dataShards
      const ids = stripe.nodes.map((_, i) => `${body.id}.${s}.${i}`)
      const intact = (i: number) => (bytes: Uint8Array) => bytes.length === body.shardSize && crc32c(bytes) === stripe.shardCrcs[i]
      const first = yield* Effect.forEach(stripe.nodes, (node, i) => check(node, ids[i]!, intact(i)), { concurrency: "unbounded" })
      if (first.filter((c) => c instanceof Uint8Array).length < k) {
        // Short of k: ask the silent nodes again even if suspected of being down, before calling the stripe unavailable.
        for (let i = 0; i < first.length; i++) if (first[i] === "unknown") first[i] = yield* check(stripe.nodes[i]!, ids[i]!, intact(i), true)
      }
      const checked = yield* readAgain(first, stripe.nodes, ids, intact)
      tally.shardsChecked += checked.length
      const shards = checked.map((c) => (c instanceof Uint8Array ? c : undefined))
      const healthy = shards.filter((x) => x !== undefined).length
      const slots = yield* slotsToRewrite(ids, stripe.nodes, checked, stripe.missing)
      const landed = landedAfterAll(checked, stripe.missing)
      if (slots.length === 0 && landed.size === 0) return stripe
      if (slots.length > 0 && (healthy < k || body.scheme.parityShards === 0)) {
        if (healthy + checked.filter((c) => c === "unknown").length >= k) tally.unavailable.push(`${body.id}.${s}`)
        else recordLost(`${body.id}.${s}`, stripe.nodes, checked, stripe.missing)
        return stripe
      }
      let nodes: ReadonlyArray<string> = stripe.nodes
      let written: ReadonlySet<number> = new Set()
      if (slots.length > 0) {
        const rebuilt = Erasure.reconstruct(Erasure.makeCodec(k, body.scheme.parityShards), shards)
        ;({ nodes, written } = yield* rewrite(stripe.nodes, checked, slots, stripe.missing, (i) => ({ id: ids[i]!, data: rebuilt[i]!, placementKey: ids[i]! })))
      }
      const cleared = new Set([...landed, ...written])
      tally.marksCleared += (stripe.missing ?? []).filter((i) => cleared.has(i)).length
      const missing = without(stripe.missing, cleared)
      return missing === undefined ? { nodes, shardCrcs: stripe.shardCrcs } : { nodes, shardCrcs: stripe.shardCrcs, missing }
    })

  /** Repairs one body (`crc`: its CRC32C when the record keeps it); returns it with updated node lists and missing marks. */
  const repairBody = (body: SimpleBody, size: number, crc: number | undefined): Effect.Effect<SimpleBody> =>
    Effect.gen(function*() {
      if (body.kind === "inline") return body
      if (body.kind === "replicated") return yield* repairReplicated(body, size, crc)
      const stripes: Array<StripeRecord> = []
      for (let s = 0; s < body.stripes.length; s++) stripes.push(yield* repairStripe(body, s))
      return { ...body, stripes }
    })

  return { repairBody }
}
