import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { crc32c } from "../checksum/crc32c.ts"
import type { ObjectBody } from "./metadata.ts"
import { placeStripe, type PlacementNode } from "./placement.ts"
import { decodeCursor, encodeCursor, freshCursor, membershipOf } from "./rebalance-cursor.ts"
import { applyMoves, bodyPlan, misplacedShards, slotKey, slotMoves, stripePlan } from "./rebalance-plan.ts"
import { makeScheme } from "./scheme.ts"
import { makeThrottle } from "./throttle.ts"

const members = (n: number): ReadonlyArray<PlacementNode> => Array.from({ length: n }, (_, i) => ({ id: `n${i + 1}`, domain: `n${i + 1}` }))

describe("slotMoves", () => {
  it("keeps shards already on the wanted nodes, whatever their slot, and moves the rest to the free ones", () => {
    expect(slotMoves(["a", "b", "c"], ["c", "a", "b"])).toEqual([])
    expect(slotMoves(["a", "b", "c"], ["a", "d", "b"])).toEqual([{ slot: 2, from: "c", to: "d" }])
    expect(slotMoves(["a", "b", "c"], ["d", "e", "a"])).toEqual([{ slot: 1, from: "b", to: "d" }, { slot: 2, from: "c", to: "e" }])
  })

  it("moves the second of two shards on one node", () => {
    expect(slotMoves(["a", "a", "b"], ["a", "b", "c"])).toEqual([{ slot: 1, from: "a", to: "c" }])
  })
})

describe("stripePlan", () => {
  const placed = placeStripe("o.0", members(3), 3).map((n) => n.id)

  it("moves nothing when the members did not change, and moves only onto the node that joined", () => {
    expect(stripePlan("o.0", placed, undefined, members(3))).toEqual({ moves: [], waitsForRepair: false })
    let moves = 0
    for (let s = 0; s < 200; s++) {
      const before = placeStripe(`x.${s}`, members(3), 3).map((n) => n.id)
      for (const move of stripePlan(`x.${s}`, before, undefined, members(4)).moves) {
        moves++
        expect(move.to).toBe("n4")
      }
    }
    expect(moves).toBeGreaterThan(100) // 3 of 4 nodes hold a stripe: n4 joins 3/4 of them
  })

  it("leaves repair's cases alone: shards recorded missing, a shard on a departed node, too few members", () => {
    const before = placeStripe("y.0", members(3), 3).map((n) => n.id)
    const grown = members(6)
    expect(stripePlan("y.0", before, undefined, grown).moves.length).toBeGreaterThan(0)
    expect(stripePlan("y.0", before, [1], grown)).toEqual({ moves: [], waitsForRepair: true })
    expect(stripePlan("y.0", [...before.slice(0, 2), "gone"], undefined, grown)).toEqual({ moves: [], waitsForRepair: true })
    // Two shards on one node of a two-node cluster (repair could place nothing better): three slots, two members.
    expect(stripePlan("y.0", ["n1", "n1", "n2"], undefined, members(2))).toEqual({ moves: [], waitsForRepair: false })
  })
})

describe("bodyPlan and applyMoves", () => {
  it("plan every stripe of a striped body, verify shards by CRC, and write the moves into the record", () => {
    const shard = new Uint8Array([1, 2, 3, 4])
    const stripes = [0, 1].map((s) => ({ nodes: placeStripe(`b.${s}`, members(3), 3).map((n) => n.id), shardCrcs: [crc32c(shard), 0, 0] }))
    const body: ObjectBody = { kind: "striped", id: "b", scheme: makeScheme(2, 1), shardSize: 4, stripes }
    const plan = bodyPlan(body, 8, members(5))
    expect(plan.map((p) => p.stripe)).toEqual([0, 1])
    expect(plan[0]!.intact(0, shard)).toBe(true)
    expect(plan[0]!.intact(0, new Uint8Array([1, 2, 3, 5]))).toBe(false)
    expect(plan[0]!.intact(0, shard.subarray(1))).toBe(false)
    const done = new Map<string, string>()
    for (const p of plan) for (const m of p.moves) done.set(slotKey(p.bodyId, p.stripe, m.slot), m.to)
    const moved = applyMoves(body, done)
    expect(misplacedShards(body, 8, members(5))).toBe(done.size)
    expect(misplacedShards(moved, 8, members(5))).toBe(0)
    // An unfinished move leaves its slot where it was.
    const partial = applyMoves(body, new Map([...done].slice(1)))
    expect(misplacedShards(partial, 8, members(5))).toBe(done.size === 0 ? 0 : 1)
  })

  it("plan a replicated body's copies by its id, checked by size", () => {
    const nodes = placeStripe("r1", members(2), 2).map((n) => n.id)
    const body: ObjectBody = { kind: "replicated", id: "r1", nodes }
    const [plan] = bodyPlan(body, 10, members(2))
    expect(plan!.moves).toEqual([])
    expect(plan!.intact(0, new Uint8Array(10))).toBe(true)
    expect(plan!.intact(0, new Uint8Array(9))).toBe(false)
  })
})

describe("the rebalance cursor", () => {
  it("round-trips, names a membership independently of order and weight defaults, and rejects garbage", () => {
    const c = { ...freshCursor(membershipOf(members(3)), 2, { shardsMoved: 5, bytesMoved: 99 }), after: "\u0000o/b/k", records: 7 }
    expect(decodeCursor(encodeCursor(c))).toEqual(c)
    expect(membershipOf([...members(3)].reverse())).toBe(membershipOf(members(3).map((m) => ({ ...m, weight: 1 }))))
    expect(membershipOf(members(3))).not.toBe(membershipOf(members(3).map((m, i) => (i === 0 ? { ...m, weight: 2 } : m))))
    expect(decodeCursor(new TextEncoder().encode("{"))).toBeUndefined()
    expect(decodeCursor(new TextEncoder().encode(JSON.stringify({ v: 2, membership: "" })))).toBeUndefined()
    expect(decodeCursor(new TextEncoder().encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(encodeCursor(c))), records: -1 })))).toBeUndefined()
  })
})

describe("the byte throttle", () => {
  it("lets a second's budget through at once, then spaces takes out at the rate", () => {
    let now = 0
    const slept: Array<number> = []
    const clock = {
      monotonicMs: Effect.sync(() => now),
      wallMs: Effect.sync(() => now),
      sleep: (ms: number) => Effect.sync(() => {
        slept.push(ms)
        now += ms
      })
    }
    const throttle = makeThrottle(clock, 1000)
    Effect.runSync(throttle.take(1000))
    expect(slept).toEqual([])
    Effect.runSync(throttle.take(500))
    expect(slept).toEqual([500])
    // After a long idle spell the bucket holds one second, not more.
    now += 10_000
    Effect.runSync(throttle.take(1500))
    expect(slept).toEqual([500, 500])
  })
})
