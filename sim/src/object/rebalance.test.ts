import { Clock, nodeId, type NodeId } from "@cairn/core"
import { OBJECT_PREFIX } from "@cairn/core/object/catalog-keys"
import { decodeObjectMeta, type ObjectBody } from "@cairn/core/object/metadata"
import { collectBody } from "@cairn/core/object/object-store"
import type { ObjectNode } from "@cairn/core/object/object-node"
import { misplacedShards } from "@cairn/core/object/rebalance-plan"
import type { RebalanceStep } from "@cairn/core/object/rebalance"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { bytes, onCluster, put } from "./cluster.test-support.ts"

const four = [nodeId("n1"), nodeId("n2"), nodeId("n3"), nodeId("n4")]
const asMembers = (ids: ReadonlyArray<NodeId>) => ids.map((id) => ({ id, domain: id }))

/** Sizes that make replicated (100 KB) and striped (one and two stripes) bodies. */
const sizeOf = (i: number) => [100_000, 400_000, 1_300_000][i % 3]!

/** Every object record's body and size, read through n1. */
const records = (n1: ObjectNode) =>
  Effect.map(n1.kv.read({ op: "range", start: OBJECT_PREFIX, end: "\u0000o0", limit: 1000 }), (r) => {
    const out: Array<{ readonly body: ObjectBody; readonly size: number }> = []
    if (r.type !== "range") return out
    for (const item of r.items) {
      const meta = decodeObjectMeta(item.value)
      if (meta._tag === "Success") out.push({ body: meta.success.body, size: meta.success.size })
    }
    return out
  })

/** Shards each node holds according to the records. */
const shardsPerNode = (bodies: ReadonlyArray<{ readonly body: ObjectBody }>) => {
  const count = new Map<string, number>()
  const add = (node: string) => count.set(node, (count.get(node) ?? 0) + 1)
  for (const { body } of bodies) {
    if (body.kind === "replicated") body.nodes.forEach(add)
    if (body.kind === "striped") for (const s of body.stripes) s.nodes.forEach(add)
  }
  return count
}

/** Steps until the pass is done (at most `limit` steps). */
const runPass = (node: ObjectNode, limit = 100) =>
  Effect.gen(function*() {
    const steps: Array<RebalanceStep> = []
    for (let i = 0; i < limit; i++) {
      const step = yield* node.rebalancer.step
      steps.push(step)
      if (step.cursor.done) break
    }
    return steps
  })

describe("rebalancing", () => {
  it("gives a node added to the members its share, keeps every object whole, and GC then frees the old copies", () => {
    let members: ReadonlyArray<NodeId> = four.slice(0, 3)
    const { value } = onCluster((store, servers) =>
      Effect.gen(function*() {
        const clock = yield* Clock
        const n1 = servers.node(nodeId("n1"))!
        yield* store.createBucket("b", "alice")
        for (let i = 0; i < 18; i++) yield* put(store, "b", `k${i}`, bytes(sizeOf(i), i + 1))
        const before = shardsPerNode(yield* records(n1))
        const idle = yield* runPass(n1)
        members = four
        const steps = yield* runPass(n1)
        const after = yield* records(n1)
        const misplaced = after.reduce((n, r) => n + misplacedShards(r.body, r.size, asMembers(four)), 0)
        const again = yield* n1.rebalancer.step
        let whole = true
        for (let i = 0; i < 18; i++) {
          const got = yield* collectBody((yield* store.getObject("b", `k${i}`)).body)
          const want = bytes(sizeOf(i), i + 1)
          whole &&= got.length === want.length && got.every((b, j) => b === want[j])
        }
        const repair = yield* n1.repairer.sweep
        // Past GC's grace (2 × maxWriteMs = 10 s): each node keeps only the shards placed on it.
        yield* clock.sleep(25_000)
        const gc = yield* Effect.forEach(four, (id) => servers.node(id)!.garbage.sweep)
        return { before, idle, steps, after: shardsPerNode(after), misplaced, again, whole, repair, gc }
      }), 60_000, { scheme: { dataShards: 2, parityShards: 1 } }, { voters: four, members: () => members })
    // Before the change nothing was misplaced: a pass moves nothing.
    expect(value.before.get("n4")).toBeUndefined()
    expect(value.idle.reduce((n, s) => n + s.shardsMoved, 0)).toBe(0)
    const moved = value.steps.reduce((n, s) => n + s.shardsMoved, 0)
    expect(value.steps.at(-1)!.cursor.done).toBe(true)
    // n4 now holds shards, and every shard that moved went to it (3 of 4 nodes per stripe: about 1/4 of them).
    const onN4 = value.after.get("n4") ?? 0
    expect(onN4).toBe(moved)
    const total = [...value.after.values()].reduce((a, b) => a + b, 0)
    expect(onN4 / total).toBeGreaterThan(0.12)
    expect(onN4 / total).toBeLessThan(0.4)
    expect(value.misplaced).toBe(0)
    expect(value.again.shardsMoved).toBe(0)
    expect(value.again.records).toBe(0)
    expect(value.whole).toBe(true)
    expect(value.repair.shardsRebuilt).toBe(0)
    // Old copies gone, nothing live removed: the shards on disk are exactly those the records place.
    expect(value.gc.reduce((n, s) => n + s.localShards, 0)).toBe(total)
    for (const sweep of value.gc) expect(sweep.misplacedShards).toBe(0)
  })

  it("resumes a pass from the cursor in the KV on another node, and throttles copies to the byte budget", () => {
    let members: ReadonlyArray<NodeId> = four.slice(0, 3)
    const rate = 400_000
    const { value } = onCluster((store, servers) =>
      Effect.gen(function*() {
        const clock = yield* Clock
        const [n1, n2] = [servers.node(nodeId("n1"))!, servers.node(nodeId("n2"))!]
        yield* store.createBucket("b", "alice")
        for (let i = 0; i < 12; i++) yield* put(store, "b", `k${i}`, bytes(sizeOf(i), i + 100))
        members = four
        const first = yield* n1.rebalancer.step
        const second = yield* n1.rebalancer.step
        // The leader changes: another node's rebalancer picks up the same pass.
        const start = yield* clock.monotonicMs
        const rest = yield* runPass(n2)
        const elapsedMs = (yield* clock.monotonicMs) - start
        return { first, second, rest, elapsedMs }
      }), 60_000, { scheme: { dataShards: 2, parityShards: 1 }, rebalance: { pageSize: 3, bytesPerSecond: rate, intervalMs: 1e9 } }, { voters: four, members: () => members })
    expect(value.first.cursor.records).toBe(3)
    expect(value.second.cursor.records).toBe(6)
    const steps = [value.first, value.second, ...value.rest]
    expect(value.rest[0]!.cursor.records).toBe(9)
    expect(value.rest.at(-1)!.cursor.done).toBe(true)
    expect(value.rest.at(-1)!.cursor.records).toBe(12)
    expect(value.rest.at(-1)!.cursor.shardsMoved).toBe(steps.reduce((n, s) => n + s.shardsMoved, 0))
    // Virtual time: the bytes n2 copied took at least their budget (less the one second of burst).
    const bytesByN2 = value.rest.reduce((n, s) => n + s.bytesMoved, 0)
    expect(bytesByN2).toBeGreaterThan(2 * rate)
    expect(value.elapsedMs).toBeGreaterThanOrEqual((bytesByN2 / rate - 1) * 1000)
  })
})
