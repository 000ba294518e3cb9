/**
 * The nemesis speaks the Jepsen fault vocabulary: what a run applies are
 * valid `Fault`s, each one counted under the simulator's kind names; a
 * schedule drawn by Jepsen's generator applies through the simulator's
 * controls; and membership faults remove a voter and bring it back while the
 * history stays linearizable.
 */
import { nodeId } from "@cairn/core"
import { describeFault, faultProblems, generateSchedule, mulberry32, toIntervals, type Fault } from "@cairn/jepsen"
import { seededSource } from "@cairn/runtime-test"
import { describe, expect, it } from "vitest"
import { quietCluster, runFor } from "./harness.test-support.ts"
import { counters, Nemesis } from "./nemesis.ts"
import { runSeed } from "./run.ts"
import { drawConfig } from "./swarm.ts"

const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`)

/** A nemesis on a quiet cluster with no workload, for applying hand-made faults. */
const bareNemesis = (nodes: number) => {
  const cluster = quietCluster({ nodes })
  const nemesis = new Nemesis(cluster, drawConfig(1, { nodes, only: [] }), seededSource("nemesis-test"))
  return { cluster, nemesis }
}

describe("nemesis faults are Jepsen faults", () => {
  it("every fault a run applies is a valid Fault for its cluster, labelled for the report and counted under its sim kind", () => {
    const kinds = new Set<string>()
    for (const seed of [4, 8, 9]) {
      const result = runSeed(seed, { all: true, durationMs: 6_000, disable: ["disk.bit-rot", "disk.misdirected-write", "disk.latent-sector", "disk.read-error"] })
      expect(result.result, `${result.violations.join("\n")}\nreplay: ${result.replay}`).toBe("pass")
      const nodes = ids(result.config.nodes)
      expect(result.episodes.length).toBeGreaterThan(3)
      for (const fault of result.episodes) {
        kinds.add(fault.kind)
        expect(faultProblems(fault, nodes), describeFault(fault)).toEqual([])
        expect(fault.end).toBeLessThanOrEqual(result.simulatedMs)
      }
      const intervals = toIntervals(result.episodes)
      expect(intervals.map((i) => [i.kind, i.start, i.end])).toEqual(result.episodes.map((f) => [f.kind, f.start, f.end]))
      expect(intervals.every((i) => i.label === describeFault(result.episodes[intervals.indexOf(i)]!))).toBe(true)
      // The counters a test or a campaign reads agree with the faults applied.
      const expected = new Map<string, number>()
      for (const fault of result.episodes) for (const c of counters(fault)) expected.set(c, (expected.get(c) ?? 0) + 1)
      for (const [counter, n] of expected) expect(result.faults[counter], counter).toBe(n)
      expect(result.faults["net.partition"] ?? 0).toBe(result.episodes.filter((f) => f.kind === "partition").length)
    }
    expect([...kinds].sort()).toEqual(["clock-skew", "clog", "disk-fault", "flapping", "kill", "membership", "partition", "pause"])
  })

  it("faultProblems is not vacuous: a fault naming a node outside the run's cluster is rejected", () => {
    const bad: Fault = { kind: "kill", nodes: ["n7"], start: 0, end: 1 }
    expect(faultProblems(bad, ids(3))).toEqual(["unknown node n7"])
  })

  it("a schedule from Jepsen's generator applies through the simulator's controls", () => {
    const { cluster, nemesis } = bareNemesis(5)
    const schedule = generateSchedule(mulberry32(11), {
      nodes: cluster.nodeIds,
      duration: 60_000,
      meanGap: 500,
      meanFault: 500,
      faultKinds: ["partition", "kill", "pause", "clock-skew", "disk-fault", "clog", "flapping"]
    })
    let applied = 0
    for (const fault of schedule.faults) cluster.scheduler.setTimer(fault.start * 1e6, () => void (nemesis.apply(fault) && applied++))
    runFor(cluster, 60_000)
    // Torn writes have no per-operation rate to set; every other fault applies.
    expect(applied).toBe(schedule.faults.filter((f) => !(f.kind === "disk-fault" && f.fault === "torn-write")).length)
    expect(cluster.faults.count("net.partition")).toBe(schedule.faults.filter((f) => f.kind === "partition").length)
    expect(cluster.faults.count("process.crash")).toBe(schedule.faults.filter((f) => f.kind === "kill").length)
    expect(nemesis.episodes.length).toBe(applied)
    // Everything ended: links whole, nodes up.
    expect(cluster.network.cutLinks).toEqual([])
    expect(cluster.nodeIds.every((id) => cluster.status(id) === "running")).toBe(true)
  })

  it("one partition's end does not heal another that is still in effect", () => {
    const { cluster, nemesis } = bareNemesis(3)
    const [a, b] = [nodeId("n1"), nodeId("n2")]
    nemesis.apply({ kind: "partition", shape: { type: "isolate", node: a }, start: 0, end: 100 })
    nemesis.apply({ kind: "partition", shape: { type: "isolate", node: b }, start: 0, end: 200 })
    expect(cluster.network.isCut(a, nodeId("n3"))).toBe(true)
    runFor(cluster, 150)
    expect(cluster.network.isCut(a, nodeId("n3"))).toBe(false)
    expect(cluster.network.isCut(b, nodeId("n3"))).toBe(true)
    expect(cluster.network.cutLinks).toEqual(["n1>n2", "n2>n1", "n2>n3", "n3>n2"])
    runFor(cluster, 100)
    expect(cluster.network.cutLinks).toEqual([])
  })
})

describe("membership faults", () => {
  const options = { only: ["membership" as const], all: true, durationMs: 8_000 }

  it("remove a voter through the leader and add it back as a learner, then a voter; the history stays linearizable", () => {
    const result = runSeed(3, options)
    expect(result.result, `${result.violations.join("\n")}\nreplay: ${result.replay}`).toBe("pass")
    expect(result.stats.linearizability).toBe("valid")
    // What the committed configuration did, not what was asked.
    const removed = result.faults["membership.remove"] ?? 0
    expect(removed).toBeGreaterThan(0)
    expect(result.faults["membership.learner"]).toBe(removed)
    expect(result.faults["membership.add"]).toBe(removed)
    expect(result.silentFaults).toEqual([])
    // Each removal is followed by an add of the same node, starting when the removal ends and finished before the run did.
    const membership = result.episodes.filter((f): f is Extract<Fault, { kind: "membership" }> => f.kind === "membership")
    const removes = membership.filter((f) => f.change === "remove")
    expect(removes.length).toBeGreaterThan(0)
    for (const remove of removes) {
      const add = membership.find((f) => f.change === "add" && f.node === remove.node && f.start === remove.end)
      expect(add, describeFault(remove)).toBeDefined()
      expect(add!.end).toBeGreaterThan(add!.start)
      expect(add!.end).toBeLessThan(result.simulatedMs)
    }
    // Never fewer voters than a majority of the original cluster: with 3 nodes, one out at a time.
    const majority = Math.floor(result.config.nodes / 2) + 1
    const events = membership.flatMap((f) => (f.change === "remove" ? [[f.start, 1], [f.end, -1]] : [])).sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!)
    let out = 0
    for (const [, delta] of events) {
      out += delta!
      expect(result.config.nodes - out).toBeGreaterThanOrEqual(majority)
    }
  })

  it("is deterministic: the same seed gives the same trace", () => {
    const a = runSeed(5, { ...options, durationMs: 4_000 })
    const b = runSeed(5, { ...options, durationMs: 4_000 })
    expect(a.traceHash).toBe(b.traceHash)
    expect(a.faults).toEqual(b.faults)
  })

  it("stays off where it cannot apply: without Raft servers, and for the durable-ping workload", () => {
    expect(drawConfig(3, { ...options, workload: "durable-ping" }).faults).toEqual({})
    const { cluster, nemesis } = bareNemesis(3)
    expect(nemesis.apply({ kind: "membership", change: "remove", node: "n1", start: 0, end: 10 })).toBe(false)
    expect(cluster.faults.count("membership")).toBe(0)
  })
})
