/**
 * Repair: restores every committed body to full redundancy.
 *
 * A sweep walks all object records (current and non-current versions) and part records and checks each shard where
 * the record says it is: read back, checked against the CRC32C recorded at
 * write time (a full copy against the object's size). A shard that is
 * missing, rotten or on a node that is no longer a member is rebuilt from k
 * healthy shards of its stripe (or a good copy) and written again — to the
 * same node while it is a member, else to a member that holds no other shard
 * of the stripe, in which case the record is updated with a compare-and-set
 * (a concurrent overwrite wins, and its body is repaired in a later sweep).
 *
 * A shard whose node does not answer is left alone (it may be fine);
 * only shards known missing or bad are rebuilt.
 *
 * One node repairs at a time (the caller runs sweeps on the Raft leader),
 * so two repairers never race to relocate one shard. A stripe with fewer
 * than k healthy shards cannot be repaired and is reported as lost.
 */
import { Effect, Result } from "effect"
import { crc32c } from "../checksum/crc32c.ts"
import * as Erasure from "../erasure/index.ts"
import type { KvClient } from "../kv/client.ts"
import type { RangeItem } from "../kv/command.ts"
import type { NodeId } from "../node/node-id.ts"
import { decodeObjectMeta, encodeObjectMeta, type ObjectBody, type ObjectMeta, type StripeRecord } from "./metadata.ts"
import type { SimpleBody } from "./object-data.ts"
import { OBJECT_PREFIX, PART_PREFIX, scanPrefix, VERSION_PREFIX } from "./catalog-keys.ts"
import type { PlacementNode } from "./placement.ts"
import { placeStripe } from "./placement.ts"
import type { ShardTransfer } from "./shard-transfer.ts"
import { ObjectStoreUnavailableError } from "./object-api.ts"

export interface RepairConfig {
  readonly kv: KvClient
  readonly transfer: ShardTransfer
  readonly nodes: () => ReadonlyArray<PlacementNode>
}

export interface RepairReport {
  readonly records: number
  readonly shardsChecked: number
  readonly shardsRebuilt: number
  readonly shardsMoved: number
  /** Where each rebuilt shard had gone missing (one entry per shard). */
  readonly rebuiltFrom: ReadonlyArray<string>
  /** Stripes (or replicated bodies) with too few healthy shards to rebuild. */
  readonly lost: ReadonlyArray<string>
  /** Stripes with bad shards that could not be rebuilt now because too many nodes did not answer. */
  readonly unavailable: ReadonlyArray<string>
}

export interface Repairer {
  readonly sweep: Effect.Effect<RepairReport, ObjectStoreUnavailableError>
}

export const makeRepairer = (config: RepairConfig): Repairer => {
  const { kv, transfer } = config

  const scan = (prefix: string) => scanPrefix(kv, prefix)

  const sweep = Effect.gen(function*() {
    const members = config.nodes()
    const isMember = (id: string) => members.some((n) => n.id === id)
    let shardsChecked = 0
    let shardsRebuilt = 0
    let shardsMoved = 0
    const rebuiltFrom: Array<string> = []
    const lost: Array<string> = []
    const unavailable: Array<string> = []

    /**
     * A shard as found: its bytes when intact; "bad" when it is surely not
     * there intact (missing, rotten, or on a node that left the cluster);
     * "unknown" when its node did not answer (it is not rebuilt: it may be
     * fine, and rewriting it would only race the node's return).
     */
    const check = (node: string, id: string, intact: (bytes: Uint8Array) => boolean): Effect.Effect<Uint8Array | "bad" | "unknown"> =>
      isMember(node)
        ? Effect.map(Effect.result(transfer.get(node as NodeId, id)), (r) =>
          r._tag === "Success"
            ? (intact(r.success) ? r.success : "bad")
            : r.failure.reason === "not-found" || r.failure.reason === "corrupt" ? "bad" : "unknown")
        : Effect.succeed("bad")

    /** A member for a relocated shard: not already used by the body's stripe. */
    const replacement = (key: string, used: ReadonlyArray<string>): string | undefined => {
      const free = members.filter((n) => !used.includes(n.id))
      return free.length === 0 ? undefined : placeStripe(key, free, 1)[0]!.id
    }

    /**
     * Writes a good copy of every "bad" shard back to its node, or to a member holding no other
     * shard of the body when its node left; returns where each shard is now.
     */
    const rewrite = (
      placed: ReadonlyArray<string>,
      found: ReadonlyArray<Uint8Array | "bad" | "unknown">,
      copy: (i: number) => { readonly id: string; readonly data: Uint8Array; readonly placementKey: string }
    ): Effect.Effect<ReadonlyArray<string>> =>
      Effect.gen(function*() {
        const nodes = [...placed]
        for (let i = 0; i < nodes.length; i++) {
          if (found[i] !== "bad") continue
          const { id, data, placementKey } = copy(i)
          const target = isMember(nodes[i]!) ? nodes[i]! : replacement(placementKey, nodes)
          if (target === undefined) continue
          const put = yield* Effect.result(transfer.put(target as NodeId, id, data))
          if (put._tag === "Failure") continue
          shardsRebuilt++
          rebuiltFrom.push(nodes[i]!)
          if (target !== nodes[i]) {
            nodes[i] = target
            shardsMoved++
          }
        }
        return nodes
      })

    /** Repairs one body; returns the body with updated node lists when shards moved. */
    const repairBody = (body: SimpleBody, size: number): Effect.Effect<SimpleBody> =>
      Effect.gen(function*() {
        if (body.kind === "inline") return body
        if (body.kind === "replicated") {
          const id = `${body.id}.r`
          const copies = yield* Effect.forEach(body.nodes, (node) =>
            check(node, id, (bytes) => bytes.length === size), { concurrency: "unbounded" })
          shardsChecked += copies.length
          const good = copies.find((c): c is Uint8Array => c instanceof Uint8Array)
          if (good === undefined) {
            if (copies.includes("unknown")) unavailable.push(body.id)
            else lost.push(body.id)
            return body
          }
          const nodes = yield* rewrite(body.nodes, copies, (i) => ({ id, data: good, placementKey: `${body.id}.r.${i}` }))
          return { ...body, nodes }
        }
        const k = body.scheme.dataShards
        const total = k + body.scheme.parityShards
        const stripes: Array<StripeRecord> = []
        for (let s = 0; s < body.stripes.length; s++) {
          const stripe = body.stripes[s]!
          const checked = yield* Effect.forEach(stripe.nodes, (node, i) =>
            check(node, `${body.id}.${s}.${i}`, (bytes) => bytes.length === body.shardSize && crc32c(bytes) === stripe.shardCrcs[i]), { concurrency: "unbounded" })
          shardsChecked += total
          const shards = checked.map((c) => (c instanceof Uint8Array ? c : undefined))
          const healthy = shards.filter((x) => x !== undefined).length
          if (!checked.includes("bad")) {
            stripes.push(stripe)
            continue
          }
          if (healthy < k || body.scheme.parityShards === 0) {
            if (healthy + checked.filter((c) => c === "unknown").length >= k) unavailable.push(`${body.id}.${s}`)
            else lost.push(`${body.id}.${s}`)
            stripes.push(stripe)
            continue
          }
          const rebuilt = Erasure.reconstruct(Erasure.makeCodec(k, body.scheme.parityShards), shards)
          const nodes = yield* rewrite(stripe.nodes, checked, (i) => ({ id: `${body.id}.${s}.${i}`, data: rebuilt[i]!, placementKey: `${body.id}.${s}.${i}` }))
          stripes.push({ nodes, shardCrcs: stripe.shardCrcs })
        }
        return { ...body, stripes }
      })

    const repairRecord = (item: RangeItem): Effect.Effect<void, ObjectStoreUnavailableError> =>
      Effect.gen(function*() {
        const decoded = decodeObjectMeta(item.value)
        if (Result.isFailure(decoded)) return
        const meta = decoded.success
        const before = { moved: shardsMoved, rebuilt: shardsRebuilt, rebuiltFrom: rebuiltFrom.length, lost: lost.length, unavailable: unavailable.length }
        let body: ObjectBody
        if (meta.body.kind === "parts") {
          const parts = []
          for (const part of meta.body.parts) parts.push({ size: part.size, body: yield* repairBody(part.body, part.size) })
          body = { kind: "parts", parts }
        } else {
          body = yield* repairBody(meta.body, meta.size)
        }
        if (shardsRebuilt > before.rebuilt || lost.length > before.lost || unavailable.length > before.unavailable) {
          // A version overwritten or deleted meanwhile had its shards removed on purpose: what we found
          // (and rebuilt, now garbage for GC) says nothing about redundancy.
          const now = yield* Effect.mapError(kv.read({ op: "get", key: item.key }), (e) => new ObjectStoreUnavailableError({ message: e.message, ambiguous: false }))
          if (now.type !== "get" || !now.found || now.revision !== item.revision) {
            shardsRebuilt = before.rebuilt
            shardsMoved = before.moved
            rebuiltFrom.length = before.rebuiltFrom
            lost.length = before.lost
            unavailable.length = before.unavailable
            return
          }
        }
        if (shardsMoved === before.moved) return
        // Shards moved: record where they are now, unless the record changed meanwhile.
        const next: ObjectMeta = { ...meta, body }
        yield* Effect.ignore(kv.write({ op: "cas", key: item.key, expected: item.revision, value: encodeObjectMeta(next) }))
      })

    const objects = yield* scan(OBJECT_PREFIX)
    const versions = yield* scan(VERSION_PREFIX)
    const parts = yield* scan(PART_PREFIX)
    for (const item of [...objects, ...versions, ...parts]) yield* repairRecord(item)
    return { records: objects.length + versions.length + parts.length, shardsChecked, shardsRebuilt, shardsMoved, rebuiltFrom, lost, unavailable }
  })

  return { sweep }
}
