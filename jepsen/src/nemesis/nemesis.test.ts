/** The nemesis vocabulary and the seeded schedule generator. */
import { describe, expect, it } from "vitest"
import { mulberry32 } from "../history/generate.ts"
import { cutLinks, describeFault, faultNodes, faultProblems, toIntervals } from "./fault.ts"
import { generateSchedule } from "./schedule.ts"

const nodes = ["n1", "n2", "n3", "n4", "n5"]

describe("partition shapes", () => {
  it("isolate cuts every link to and from one node", () => {
    const cut = cutLinks({ type: "isolate", node: "n1" }, nodes)
    expect(cut).toHaveLength(8)
    expect(cut.every(([a, b]) => a === "n1" || b === "n1")).toBe(true)
  })
  it("halves cut only links that cross", () => {
    const cut = cutLinks({ type: "halves", sides: [["n1", "n2"], ["n3", "n4", "n5"]] }, nodes)
    expect(cut).toHaveLength(2 * 2 * 3)
    expect(cut).toContainEqual(["n3", "n1"])
    expect(cut).not.toContainEqual(["n1", "n2"])
  })
  it("one-way cuts a single direction", () => {
    const cut = cutLinks({ type: "one-way", from: ["n1"], to: ["n2"] }, nodes)
    expect(cut).toEqual([["n1", "n2"]])
  })
  it("a bridge node still talks to both sides", () => {
    const cut = cutLinks({ type: "bridge", bridge: "n3", sides: [["n1", "n2"], ["n4", "n5"]] }, nodes)
    expect(cut.some(([a, b]) => a === "n3" || b === "n3")).toBe(false)
    expect(cut).toContainEqual(["n1", "n4"])
    expect(cut).toHaveLength(8)
  })
})

describe("schedule", () => {
  it("the same seed gives the same schedule; another seed another", () => {
    const a = generateSchedule(mulberry32(7), { nodes, duration: 60_000 })
    const b = generateSchedule(mulberry32(7), { nodes, duration: 60_000 })
    const c = generateSchedule(mulberry32(8), { nodes, duration: 60_000 })
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
  })
  it("faults stay inside the test, do not overlap, and use only enabled kinds", () => {
    for (let seed = 0; seed < 50; seed++) {
      const s = generateSchedule(mulberry32(seed), { nodes, duration: 120_000 })
      let last = -1
      for (const f of s.faults) {
        expect(f.start).toBeGreaterThan(last)
        expect(f.end).toBeGreaterThan(f.start)
        expect(f.end).toBeLessThan(120_000)
        expect(s.enabled).toContain(f.kind)
        last = f.end
      }
      expect(s.workload.every((w, i) => i === 0 || s.workload[i - 1]!.time <= w.time)).toBe(true)
    }
  })
  it("over many seeds every fault kind and every partition shape appears", () => {
    const kinds = new Set<string>()
    const shapes = new Set<string>()
    for (let seed = 0; seed < 100; seed++) {
      for (const f of generateSchedule(mulberry32(seed), { nodes, duration: 120_000 }).faults) {
        kinds.add(f.kind)
        if (f.kind === "partition") shapes.add(f.shape.type)
        expect(describeFault(f).length).toBeGreaterThan(3)
      }
    }
    expect([...kinds].sort()).toEqual(["clock-skew", "clog", "disk-fault", "flapping", "kill", "membership", "partition", "pause"])
    expect([...shapes].sort()).toEqual(["bridge", "groups", "halves", "isolate", "one-way"])
  })
  it("restricting kinds is honoured, and intervals carry labels for the report", () => {
    const s = generateSchedule(mulberry32(3), { nodes, duration: 120_000, faultKinds: ["kill"], workload: "kv", keys: 3 })
    expect(s.faults.length).toBeGreaterThan(0)
    expect(s.faults.every((f) => f.kind === "kill")).toBe(true)
    expect(toIntervals(s.faults)[0]!.label).toMatch(/^kill /)
    expect(s.workload.some((w) => w.f === "cas")).toBe(true)
  })
})

describe("fault validation", () => {
  it("accepts every generated fault and labels links", () => {
    for (let seed = 0; seed < 30; seed++) {
      for (const f of generateSchedule(mulberry32(seed), { nodes, duration: 120_000 }).faults) expect(faultProblems(f, nodes)).toEqual([])
    }
    expect(describeFault({ kind: "clog", from: "n1", to: "n2", start: 0, end: 1 })).toBe("clog n1 -> n2")
    expect(describeFault({ kind: "flapping", nodes: ["n1", "n2"], start: 0, end: 1 })).toBe("flapping n1 <-> n2")
    expect(faultNodes({ kind: "partition", shape: { type: "bridge", bridge: "n3", sides: [["n1"], ["n2"]] }, start: 0, end: 1 })).toEqual(["n3", "n1", "n2"])
  })
  it("rejects broken faults", () => {
    expect(faultProblems({ kind: "kill", nodes: ["n9"], start: 0, end: 1 }, nodes)).toEqual(["unknown node n9"])
    expect(faultProblems({ kind: "pause", nodes: ["n1"], start: 5, end: 1 }, nodes)).toEqual(["bad interval [5, 1]"])
    expect(faultProblems({ kind: "clog", from: "n1", to: "n1", start: 0, end: 1 }, nodes)).toContain("a clog from a node to itself")
    expect(faultProblems({ kind: "partition", shape: { type: "halves", sides: [["n1"], ["n1", "n2"]] }, start: 0, end: 1 }, nodes)).toEqual(["a node appears twice"])
    expect(faultProblems({ kind: "disk-fault", node: "n1", fault: "read-error", rate: 2, start: 0, end: 1 }, nodes)).toEqual(["rate 2 outside [0, 1]"])
  })
})
