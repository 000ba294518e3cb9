import { execFileSync, spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { minimize } from "./minimize.ts"
import { runSeed } from "./run.ts"
import { drawConfig, faultKinds, raftOnlyFaults } from "./swarm.ts"

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..")
const cairn = join(repoRoot, "bin", "cairn.js")

describe("simulator runs", () => {
  it("the same seed gives the same trace hash; different seeds differ", () => {
    const a = runSeed(11, { durationMs: 5_000 })
    const b = runSeed(11, { durationMs: 5_000 })
    expect(a.events).toBeGreaterThan(1_000)
    expect(b.traceHash).toBe(a.traceHash)
    expect(b.events).toBe(a.events)
    expect(b.faults).toEqual(a.faults)
    const others = [12, 13, 14].map((seed) => runSeed(seed, { durationMs: 5_000 }).traceHash)
    expect(new Set([a.traceHash, ...others]).size).toBe(4)
  })

  it("the same seed gives the same trace hash in two separate processes", () => {
    const inProcess = runSeed(3, { durationMs: 5_000 })
    const run = () =>
      JSON.parse(
        execFileSync(process.execPath, [cairn, "sim", "--seed", "3", "--duration-ms", "5000", "--json"], { encoding: "utf8" })
      ) as { traceHash: string; events: number; result: string }
    const first = run()
    const second = run()
    expect(first.traceHash).toBe(inProcess.traceHash)
    expect(second.traceHash).toBe(first.traceHash)
    expect(first.events).toBe(inProcess.events)
  })

  it("a fault-free run passes and reports no faults", () => {
    const result = runSeed(5, { only: [], durationMs: 5_000 })
    expect(result.result).toBe("pass")
    expect(Object.values(result.faults).every((n) => n === 0)).toBe(true)
    expect(result.config.faults).toEqual({})
  })

  it("swarm configs differ per seed and the overrides are honoured", () => {
    const configs = [1, 2, 3, 4, 5, 6].map((seed) => drawConfig(seed))
    expect(new Set(configs.map((c) => JSON.stringify(c.faults))).size).toBe(6)
    expect(new Set(configs.map((c) => c.nodes)).size).toBeGreaterThan(1)
    const only = drawConfig(1, { only: ["net.drop", "process.crash"], all: true })
    expect(Object.keys(only.faults).sort()).toEqual(["net.drop", "process.crash"])
    const disabled = drawConfig(1, { all: true, disable: ["disk.bit-rot"] })
    expect(Object.keys(disabled.faults)).not.toContain("disk.bit-rot")
    expect(Object.keys(disabled.faults).length).toBe(faultKinds.length - 1)
  })

  it("with every fault on, every fault kind fires within a few seeds", () => {
    const fired = new Map<string, number>()
    for (const seed of [1, 2, 3, 4]) {
      const result = runSeed(seed, { workload: "durable-ping", all: true, durationMs: 10_000 })
      expect(result.result, result.violations.join("\n")).toBe("pass")
      for (const [kind, n] of Object.entries(result.faults)) fired.set(kind, (fired.get(kind) ?? 0) + n)
    }
    // Membership needs Raft: durable-ping runs leave it off (the nemesis and membership tests cover it).
    const silent = faultKinds.filter((kind) => !raftOnlyFaults.includes(kind) && (fired.get(kind) ?? 0) === 0)
    expect(silent).toEqual([])
    expect(fired.get("disk.torn-write") ?? 0).toBeGreaterThan(0)
    expect(fired.get("disk.lost-unsynced-write") ?? 0).toBeGreaterThan(0)
  })

  it("a bounded campaign of drawn seeds passes, for both workloads", () => {
    for (let seed = 100; seed < 106; seed++) {
      for (const workload of ["raft-kv", "durable-ping"] as const) {
        const result = runSeed(seed, { workload, durationMs: 10_000 })
        expect(result.result, `seed ${seed}: ${result.violations.join("\n")}\nreplay: ${result.replay}`).toBe("pass")
        if (workload === "raft-kv") {
          expect(result.stats.linearizability).toBe("valid")
          expect(Number(result.stats.ok)).toBeGreaterThan(50)
        }
      }
    }
  })

  it("seeds that long campaigns once failed pass (each is a fixed bug: PAR liveness, a WAL rewrite from a headerless region, an endless probe, a lost snapshot, two leaders under a lagging configuration or a forgotten vote, a passing read error made a hole, a stale read answered by a late reply to an earlier incarnation, a committed prefix no peer could vouch for once its node moved on a term)", () => {
    for (const seed of [116, 385, 712, 765, 900, 1916, 2047, 2085, 2226, 2456, 2774, 3472, 3928, 4193, 4392, 5450, 5557, 6161, 6935, 9025, 9260, 9871, 510]) {
      const result = runSeed(seed)
      expect(result.result, `seed ${seed}: ${result.violations.join("\n")}\nreplay: ${result.replay}`).toBe("pass")
    }
  })

  it("seed 811 stays within the fault model: a latent sector error is withheld where the other voter's copy of entry 309 was already lost, and the run passes", () => {
    // Two voters held committed entry 309; a misdirected write lost it on n2, and a latent sector
    // error on the same WAL sector of n1 would have lost the only other copy (disk-damage.ts).
    const result = runSeed(811)
    expect(result.result, `seed 811: ${result.violations.join("\n")}\nreplay: ${result.replay}`).toBe("pass")
    expect(result.faults["disk.latent-sector-withheld"] ?? 0).toBeGreaterThan(0)
  })

  it("objects: bounded seeds pass (bytes, linearizability, liveness, repair), and a planted GC bug is found within 40 seeds", () => {
    for (let seed = 1; seed <= 4; seed++) {
      const result = runSeed(seed, { workload: "objects" })
      expect(result.result, `seed ${seed}: ${result.violations.join("\n")}\nreplay: ${result.replay}`).toBe("pass")
      expect(result.stats.linearizability).toBe("valid")
    }
    let found: number | undefined
    for (let seed = 1; seed <= 40 && found === undefined; seed++) {
      const result = runSeed(seed, { workload: "objects", plantedBug: "gc-without-grace" })
      if (result.result === "fail") {
        expect(result.violations.join("\n")).toMatch(/redundancy|durability|linearizability/)
        found = seed
      }
    }
    expect(found, "the planted bug (garbage collection without a grace period) was not found in 40 seeds").toBeDefined()
  })

  it("objects seeds that long campaigns once failed pass (each is a fixed bug: a duplicated shard put that shared its temporary file, acknowledging an empty shard; the workload reading a 1-byte body as the first value ever written with 1 byte; a returned node left suspected until a client request probed it, so a degraded stripe read as unavailable)", () => {
    for (const seed of [115, 932, 872]) {
      const result = runSeed(seed, { workload: "objects" })
      expect(result.result, `seed ${seed}: ${result.violations.join("\n")}\nreplay: ${result.replay}`).toBe("pass")
    }
  })

  it("objects seed 25 passes: a node is added while an archive body is degraded; the rebalance pass must come back to it once repair wrote its missing shard (it used to end with one shard misplaced)", () => {
    const result = runSeed(25, { workload: "objects" })
    expect(result.result, `seed 25: ${result.violations.join("\n")}\nreplay: ${result.replay}`).toBe("pass")
    expect(result.stats.rebalanced).toBeGreaterThan(0)
  })

  it("objects seeds 181, 500 and 692 pass (the campaign of 2026-12-07: repair left a shard its node could not read, a latent sector error, unrebuilt, so rebalancing could never move it; a repair sweep judged the shards of a node that joined during the sweep to be on a departed node and rebuilt them elsewhere; the final rebalance pass of the check never ran when the background passes were done, so shards handed off since counted as misplaced)", () => {
    for (const seed of [181, 500, 692]) {
      const result = runSeed(seed, { workload: "objects" })
      expect(result.result, `seed ${seed}: ${result.violations.join("\n")}\nreplay: ${result.replay}`).toBe("pass")
      // 181 and 500 add a node: the final pass ran and its moves were checked. Since reopened storage
      // draws new randomness (storage-restart.ts), 692's run moves nothing: it no longer shows its fix,
      // which the check of the background passes in objects.ts carries on its own.
      if (seed !== 692) expect(result.stats.rebalanced, `seed ${seed}`).toBeGreaterThan(0)
    }
  })

  it("the Raft KV workload checks a real history: linearizable, with ok, failed and ambiguous operations", () => {
    // Every seed passes; the first whose history has all three outcomes is the one examined (which
    // seed that is moves with any change to the traces).
    let result: ReturnType<typeof runSeed> | undefined
    for (let seed = 1; seed <= 10 && result === undefined; seed++) {
      const run = runSeed(seed, { durationMs: 10_000, only: ["net.drop", "process.crash", "net.partition"], all: true })
      expect(run.result, run.violations.join("\n")).toBe("pass")
      if (new Set(run.history.map((op) => op.type)).size === 4) result = run
    }
    expect(result).toBeDefined()
    expect(result!.history.length).toBeGreaterThan(200)
    expect([...new Set(result!.history.map((op) => op.type))].sort()).toEqual(["fail", "info", "invoke", "ok"])
    expect(Number(result!.stats.elections)).toBeGreaterThan(1)
  })

  it("lease reads stay linearizable under clock skew, drift and jumps, partitions and pauses", () => {
    for (const seed of [1, 2, 3]) {
      const result = runSeed(seed, {
        readMode: "lease",
        only: ["clock.skew", "clock.drift", "clock.jump", "net.partition", "process.pause"],
        all: true,
        durationMs: 10_000
      })
      expect(result.result, result.violations.join("\n")).toBe("pass")
      expect(result.stats.linearizability).toBe("valid")
      expect(result.replay).toContain("--read-mode lease")
    }
  })

  it("finds a planted Raft bug (votes without the election restriction) within a bounded number of seeds", () => {
    let found: number | undefined
    for (let seed = 1; seed <= 40 && found === undefined; seed++) {
      const result = runSeed(seed, { plantedBug: "vote-without-log-check", only: ["process.crash", "net.partition"], all: true, nodes: 5, durationMs: 10_000 })
      if (result.result === "fail") {
        found = seed
        expect(result.violations.join("\n")).toMatch(/leader completeness|state machine safety|linearizability/)
        expect(result.replay).toContain("--planted-bug vote-without-log-check")
      }
    }
    expect(found).toBeDefined()
    expect(runSeed(found!, { only: ["process.crash", "net.partition"], all: true, nodes: 5, durationMs: 10_000 }).result).toBe("pass")
  })

  it("finds a planted bug (acknowledging before fsync) within a bounded number of seeds, and shrinks it", () => {
    let found: number | undefined
    for (let seed = 1; seed <= 20 && found === undefined; seed++) {
      const result = runSeed(seed, { workload: "durable-ping", plantedBug: "ack-before-sync", only: ["process.crash"], durationMs: 5_000 })
      if (result.result === "fail") {
        found = seed
        expect(result.violations.join("\n")).toMatch(/durability/)
        expect(result.replay).toContain(`--seed ${seed}`)
        expect(result.replay).toContain("--planted-bug ack-before-sync")
        expect(result.recentEvents.length).toBeGreaterThan(0)
      }
    }
    expect(found).toBeDefined()
    const shrunk = minimize(found!, { workload: "durable-ping", plantedBug: "ack-before-sync", durationMs: 8_000 })
    expect(shrunk).toBeDefined()
    expect(shrunk!.result.result).toBe("fail")
    // The shrunk run still needs crashes, and has dropped most of the other drawn kinds.
    const before = Object.keys(drawConfig(found!, { workload: "durable-ping" }).faults)
    const after = Object.keys(drawConfig(found!, shrunk!.options).faults)
    expect(after).toContain("process.crash")
    expect(after.length).toBeLessThan(before.length)
    expect(after.length).toBeLessThanOrEqual(3)
    // The same code without the bug passes the same seed.
    expect(runSeed(found!, { workload: "durable-ping", only: ["process.crash"], durationMs: 5_000 }).result).toBe("pass")
  })

  it("the CLI prints the JSON fields, exits 1 on a failing seed and 2 on bad input", () => {
    const ok = spawnSync(process.execPath, [cairn, "sim", "--seeds", "1..2", "--duration-ms", "5000", "--json"], { encoding: "utf8" })
    expect(ok.status).toBe(0)
    const lines = ok.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.length).toBe(2)
    for (const field of ["seed", "config", "events", "simulatedMs", "traceHash", "faults", "result", "violations"]) {
      expect(lines[0]).toHaveProperty(field)
    }
    const failing = spawnSync(process.execPath, [cairn, "sim", "--workload", "durable-ping", "--seeds", "1..20", "--only", "process.crash", "--all-faults", "--duration-ms", "5000", "--planted-bug", "ack-before-sync"], { encoding: "utf8" })
    expect(failing.status).toBe(1)
    expect(failing.stdout).toMatch(/replay: npx cairn sim --seed \d+/)
    const bad = spawnSync(process.execPath, [cairn, "sim", "--only", "disk.gremlins"], { encoding: "utf8" })
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain("unknown fault kind disk.gremlins")
  })
})
