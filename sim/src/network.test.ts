import { Clock, Network, nodeId, type Envelope } from "@cairn/core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { quietCluster, runFor, startPrograms } from "./harness.test-support.ts"
import { applyPartition } from "./nemesis.ts"
import { seededSource } from "@cairn/runtime-test"

const [n1, n2, n3, n4, n5] = ["n1", "n2", "n3", "n4", "n5"].map(nodeId) as [
  ReturnType<typeof nodeId>, ReturnType<typeof nodeId>, ReturnType<typeof nodeId>, ReturnType<typeof nodeId>, ReturnType<typeof nodeId>
]

/** Every node sends `count` numbered messages to every other node; returns what each received. */
const allToAll = (cluster: ReturnType<typeof quietCluster>, count: number) => {
  const received = new Map<string, Array<string>>()
  const program = Effect.gen(function*() {
    const net = yield* Network
    const inbox: Array<string> = []
    received.set(net.self, inbox)
    yield* Effect.forkChild(Effect.forever(Effect.map(net.receive, (m: Envelope) => inbox.push(`${m.from}:${m.payload[0]}`))))
    for (let i = 0; i < count; i++) {
      for (const peer of cluster.nodeIds) if (peer !== net.self) yield* net.send(peer, new Uint8Array([i]))
      yield* (yield* Clock).sleep(1)
    }
    yield* Effect.never
  })
  startPrograms(cluster, Object.fromEntries(cluster.nodeIds.map((id) => [id, program])))
  return received
}

describe("SimNetwork", () => {
  it("delivers every message exactly once without faults", () => {
    const cluster = quietCluster({ nodes: 3 })
    const received = allToAll(cluster, 10)
    runFor(cluster, 1_000)
    for (const id of cluster.nodeIds) {
      const got = received.get(id)!
      expect(got.length).toBe(20)
      expect(new Set(got).size).toBe(20)
    }
  })

  it("a partition cuts exactly its links, in both directions, and nothing else", () => {
    const cluster = quietCluster({ nodes: 4 })
    cluster.network.separate([n1], [n2, n3])
    const received = allToAll(cluster, 5)
    runFor(cluster, 1_000)
    const from = (id: string, peer: string) => received.get(id)!.filter((m) => m.startsWith(`${peer}:`)).length
    expect(from(n1, n2)).toBe(0)
    expect(from(n1, n3)).toBe(0)
    expect(from(n2, n1)).toBe(0)
    expect(from(n3, n1)).toBe(0)
    expect(from(n1, n4)).toBe(5)
    expect(from(n4, n1)).toBe(5)
    expect(from(n2, n3)).toBe(5)
    expect(from(n3, n2)).toBe(5)
  })

  it("a one-way cut drops only its direction", () => {
    const cluster = quietCluster({ nodes: 2 })
    cluster.network.cutLink(n1, n2)
    const received = allToAll(cluster, 5)
    runFor(cluster, 1_000)
    expect(received.get(n2)!.length).toBe(0)
    expect(received.get(n1)!.length).toBe(5)
  })

  it("a partition also drops messages already in flight", () => {
    const cluster = quietCluster({ nodes: 2, network: { latencyNs: [10e6, 10e6] } })
    const received = allToAll(cluster, 1)
    runFor(cluster, 5) // sent, not yet arrived
    cluster.network.separate([n1], [n2])
    runFor(cluster, 100)
    expect(received.get(n1)!.length + received.get(n2)!.length).toBe(0)
    expect(cluster.faults.count("net.partition-drop")).toBe(2)
  })

  it("a duplicated message arrives twice", () => {
    const cluster = quietCluster({ nodes: 2, network: { duplicateRate: 1 } })
    const received = allToAll(cluster, 3)
    runFor(cluster, 1_000)
    expect(received.get(n2)!.sort()).toEqual(["n1:0", "n1:0", "n1:1", "n1:1", "n1:2", "n1:2"])
  })

  it("drops at the configured rate and reorders with long tails", () => {
    const dropping = quietCluster({ nodes: 2, network: { dropRate: 1 } })
    const none = allToAll(dropping, 5)
    runFor(dropping, 1_000)
    expect(none.get(n2)!.length).toBe(0)

    const reordering = quietCluster({ nodes: 2, network: { reorderRate: 0.5 } })
    const got = allToAll(reordering, 40)
    runFor(reordering, 10_000)
    const order = got.get(n2)!.map((m) => Number(m.split(":")[1]))
    expect(order.length).toBe(40)
    expect(order).not.toEqual([...order].sort((a, b) => a - b))
  })

  it("a clogged link holds messages and releases them in order when unclogged", () => {
    const cluster = quietCluster({ nodes: 2 })
    cluster.network.clog(n1, n2)
    const received = allToAll(cluster, 3)
    runFor(cluster, 100)
    expect(received.get(n2)!.length).toBe(0)
    cluster.network.unclog(n1, n2)
    runFor(cluster, 1)
    expect(received.get(n2)).toEqual(["n1:0", "n1:1", "n1:2"])
  })

  it("bounded link capacity drops sends beyond it", () => {
    const cluster = quietCluster({ nodes: 2, network: { linkCapacity: 2, latencyNs: [50e6, 50e6] } })
    const received = allToAll(cluster, 5)
    runFor(cluster, 1_000)
    expect(received.get(n2)!.length).toBeLessThan(5)
    expect(cluster.faults.count("net.link-overflow")).toBeGreaterThan(0)
  })

  it("every partition shape cuts a non-empty, shape-true set of links", () => {
    for (const shape of ["isolate", "halves", "groups", "bridge"] as const) {
      const cluster = quietCluster({ nodes: 5 })
      applyPartition(cluster, cluster.nodeIds, shape, seededSource(`shape-${shape}`))
      const cuts = cluster.network.cutLinks
      expect(cuts.length).toBeGreaterThan(0)
      // These shapes are symmetric.
      for (const link of cuts) {
        const [a, b] = link.split(">")
        expect(cuts).toContain(`${b}>${a}`)
      }
      if (shape === "isolate") expect(cuts.length).toBe(8)
      if (shape === "bridge") {
        const bridge = cluster.nodeIds.find((id) => !cuts.some((l) => l.includes(id)))
        expect(bridge).toBeDefined()
      }
    }
    void [n3, n4, n5]
  })
})
