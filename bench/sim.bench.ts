/**
 * `npm run bench -- sim [A..B] [C..D]`: how fast the simulator runs.
 *
 * Scenario "idle heartbeat": 3 nodes, each sending a 16-byte heartbeat to both
 * peers every 100 ms of its own clock and counting what it receives, for one
 * simulated hour. Run (a) on the simulator and (b), as the baseline in the
 * same run, on Effect's own virtual time (`TestClock`, default scheduler,
 * in-memory queues), advancing the clock 100 ms at a time — what a user of
 * Effect gets without Cairn's scheduler. Both count the same events
 * (heartbeats delivered plus timer wake-ups).
 *
 * Scenario "real workloads": `runSeed` over raft-kv seeds A..B (default
 * 1..10), objects seeds C..D (default 5..6) and log seeds E..F (default
 * 1..5), one after another on this thread: simulated seconds per wall second
 * and per CPU second (user + system, this process; a loaded machine distorts
 * it far less than wall time), printed in one table with the idle scenario
 * run just before (the same measures), so the cost of what the workloads do
 * per event shows against the simulator's own. For raft-kv and objects a
 * second baseline is fixed and documented, not measured in the run: this
 * same code on commit 4505539, before issue 21's first speed-ups, on the same
 * machine (`referenceCpuSPerSeed`); compare it only on the default seeds, and
 * only as CPU time.
 *
 * Scenario "hot paths": the functions those speed-ups changed, old (a frozen
 * copy) against new on the same inputs in this run (`sim-hot-paths.ts`).
 *
 *   npm run bench -- sim [raftKvSeeds A..B] [objectsSeeds C..D] [logSeeds E..F]
 */
import { Clock, Network, nodeId, type ClockShape, type NetworkShape } from "@cairn/core"
import { inMemoryNetwork } from "@cairn/runtime-test"
import { faultFreeCluster, runSeed, type WorkloadName } from "@cairn/sim"
import { Duration, Effect } from "effect"
import { TestClock } from "effect/testing"
import { printTable, saveResult } from "./result.ts"
import { hotPaths } from "./sim-hot-paths.ts"

const nodes = ["n1", "n2", "n3"].map(nodeId)
const simulatedHourMs = 3_600_000

/** The heartbeat node program, over the core services; counts events into `counter`. */
const heartbeat = (counter: { events: number }, untilMs: number) =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const net = yield* Network
    const payload = new Uint8Array(16)
    yield* Effect.forkChild(
      Effect.forever(Effect.map(net.receive, () => {
        counter.events++
      }))
    )
    while ((yield* clock.monotonicMs) < untilMs) {
      yield* clock.sleep(100)
      counter.events++
      for (const peer of nodes) if (peer !== net.self) yield* net.send(peer, payload)
    }
  })

const cpuMsSince = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1000
}

const onSimulator = () => {
  const counter = { events: 0 }
  const cluster = faultFreeCluster({ nodes: 3, seed: "bench" })
  const started = performance.now()
  const cpu = process.cpuUsage()
  cluster.start(() => heartbeat(counter, simulatedHourMs))
  cluster.scheduler.run({ untilNs: simulatedHourMs * 1e6 })
  return { wallMs: performance.now() - started, cpuMs: cpuMsSince(cpu), events: counter.events, simulatedMs: cluster.scheduler.now / 1e6 }
}

const onEffectTestClock = async (simulatedMs: number) => {
  const counter = { events: 0 }
  const clock: ClockShape = {
    monotonicMs: Effect.clockWith((c) => c.currentTimeMillis),
    wallMs: Effect.clockWith((c) => c.currentTimeMillis),
    sleep: (ms) => Effect.sleep(Duration.millis(ms))
  }
  const program = Effect.gen(function*() {
    const net = yield* inMemoryNetwork(nodes)
    const fibers = nodes.map((id) =>
      heartbeat(counter, simulatedMs).pipe(
        Effect.provideService(Clock, clock),
        Effect.provideService(Network, net.node(id) satisfies NetworkShape)
      )
    )
    const all = yield* Effect.forkChild(Effect.all(fibers, { concurrency: "unbounded", discard: true }))
    for (let t = 0; t < simulatedMs; t += 100) yield* TestClock.adjust(Duration.millis(100))
    yield* Effect.yieldNow
    return all
  }).pipe(Effect.provide(TestClock.layer()))
  const started = performance.now()
  await Effect.runPromise(Effect.scoped(Effect.asVoid(program)))
  return { wallMs: performance.now() - started, events: counter.events, simulatedMs }
}

/**
 * CPU seconds per seed on commit 4505539 (before the speed-ups), measured
 * with this file's `perSeedCpu` on the default seeds (2026-12-07, one run),
 * on the 2-core AMD EPYC the other results were taken on, under load from
 * other jobs (so only differences well above ~10% mean anything).
 */
const referenceCpuSPerSeed: Partial<Record<WorkloadName, { readonly seeds: string; readonly cpuS: number }>> = {
  "raft-kv": { seeds: "1..10", cpuS: 1.55 },
  objects: { seeds: "5..6", cpuS: 8.88 }
}

const parseRange = (text: string | undefined, fallback: string): { readonly from: number; readonly to: number; readonly text: string } => {
  const range = text ?? fallback
  const [from, to] = range.split("..").map(Number)
  if (from === undefined || to === undefined || !Number.isInteger(from) || !Number.isInteger(to) || to < from) {
    throw new Error(`bad seed range "${range}": use A..B`)
  }
  return { from, to, text: range }
}

/** Runs the seeds one after another; wall and CPU seconds of this process, simulated seconds and trace events. */
const runSeeds = (workload: WorkloadName, range: { readonly from: number; readonly to: number; readonly text: string }) => {
  let cpuS = 0
  let wallS = 0
  let events = 0
  let simulatedS = 0
  for (let seed = range.from; seed <= range.to; seed++) {
    const start = process.cpuUsage()
    const started = performance.now()
    const result = runSeed(seed, { workload })
    wallS += (performance.now() - started) / 1000
    cpuS += cpuMsSince(start) / 1000
    if (result.result !== "pass") throw new Error(`${workload} seed ${seed} failed: ${result.violations.join("; ")}`)
    events += result.events
    simulatedS += result.simulatedMs / 1000
  }
  const seeds = range.to - range.from + 1
  return { seeds, wallS, cpuS, simulatedS, events, cpuSPerSeed: cpuS / seeds, seedsPerCpuS: seeds / cpuS }
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits

/** One row of the speed table: simulated seconds per wall second and per CPU second, on this one thread. */
const speedRow = (scenario: string, seeds: string, r: { readonly simulatedS: number; readonly wallS: number; readonly cpuS: number; readonly events: number }) => ({
  scenario,
  seeds,
  simulatedS: round(r.simulatedS, 1),
  wallS: round(r.wallS, 2),
  cpuS: round(r.cpuS, 2),
  eventsPerCpuS: Math.round(r.events / r.cpuS),
  xRealTimeWall: round(r.simulatedS / r.wallS, 1),
  xRealTimeCpu: round(r.simulatedS / r.cpuS, 1)
})

export const main = async (args: ReadonlyArray<string>): Promise<void> => {
  const rows: Array<Record<string, string | number>> = []

  const sim = onSimulator()
  // The baseline is far slower: give it a tenth of the simulated time and compare rates.
  const baseline = await onEffectTestClock(simulatedHourMs / 10)
  for (const [name, r] of [["cairn SimScheduler", sim], ["baseline: Effect TestClock", baseline]] as const) {
    rows.push({
      scenario: "idle heartbeat, 3 nodes",
      runtime: name,
      simulatedS: r.simulatedMs / 1000,
      wallMs: Math.round(r.wallMs),
      events: r.events,
      eventsPerS: Math.round(r.events / (r.wallMs / 1000)),
      xRealTime: Math.round(r.simulatedMs / r.wallMs)
    })
  }

  // The real workloads next to the idle scenario, in the same measures.
  const speedRows: Array<Record<string, string | number>> = [
    speedRow("idle heartbeat, 3 nodes (baseline)", "-", { simulatedS: sim.simulatedMs / 1000, wallS: sim.wallMs / 1000, cpuS: sim.cpuMs / 1000, events: sim.events })
  ]
  const seedRows: Array<Record<string, string | number>> = []
  const workloads = [["raft-kv", parseRange(args[0], "1..10")], ["objects", parseRange(args[1], "5..6")], ["log", parseRange(args[2], "1..5")]] as const
  for (const [workload, range] of workloads) {
    const now = runSeeds(workload, range)
    speedRows.push(speedRow(workload, range.text, now))
    const reference = referenceCpuSPerSeed[workload]
    if (reference === undefined) continue
    seedRows.push({
      workload,
      seeds: range.text,
      cpuSPerSeed: round(now.cpuSPerSeed, 2),
      seedsPerCpuS: round(now.seedsPerCpuS, 3),
      baselineSeeds: reference.seeds,
      baselineCpuSPerSeed: reference.cpuS,
      speedup: reference.seeds === range.text ? round(reference.cpuS / now.cpuSPerSeed, 2) : "n/a (other seeds)"
    })
  }
  const hotRows = hotPaths()

  printTable(rows)
  process.stdout.write("\n")
  printTable(speedRows)
  process.stdout.write("\n")
  printTable(seedRows)
  process.stdout.write("\n")
  printTable(hotRows)
  const path = saveResult({
    benchmark: "sim",
    scenario:
      "idle heartbeat: 3 nodes, 16-byte heartbeat to each peer every 100 ms, 1 simulated hour on the simulator; baseline: the same program on Effect's TestClock (default scheduler, in-memory queues), 6 simulated minutes. real workloads: runSeed over raft-kv, objects and log seeds on one thread, simulated seconds per wall second and per CPU second (user+system), next to the idle scenario of the same run in the same measures; seeds per CPU-second for raft-kv and objects against the same code on commit 4505539 on the default seeds (a fixed reference, not measured in this run). hot paths: old (frozen copy) vs new implementation of each changed function on the same inputs in this run. Anchor: TigerBeetle's simulator claims ~1000x real time.",
    rows: [...rows, ...speedRows, ...seedRows, ...hotRows]
  })
  process.stdout.write(`saved ${path}\n`)
}
