/**
 * `npm run bench -- sim [seeds]`: how fast the simulator runs.
 *
 * Scenario "idle heartbeat": 3 nodes, each sending a 16-byte heartbeat to both
 * peers every 100 ms of its own clock and counting what it receives, for one
 * simulated hour. Run (a) on the simulator and (b), as the baseline in the
 * same run, on Effect's own virtual time (`TestClock`, default scheduler,
 * in-memory queues), advancing the clock 100 ms at a time — what a user of
 * Effect gets without Cairn's scheduler. Both count the same events
 * (heartbeats delivered plus timer wake-ups).
 *
 * Scenario "swarm": the default `cairn sim` workload (durable ping with drawn
 * faults) over seeds 1..N (default 20), 20 s each.
 */
import { Clock, Network, nodeId, type ClockShape, type NetworkShape } from "@cairn/core"
import { inMemoryNetwork } from "@cairn/runtime-test"
import { faultFreeCluster, runSeed } from "@cairn/sim"
import { Duration, Effect } from "effect"
import { TestClock } from "effect/testing"
import { printTable, saveResult } from "./result.ts"

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

const onSimulator = () => {
  const counter = { events: 0 }
  const cluster = faultFreeCluster({ nodes: 3, seed: "bench" })
  const started = performance.now()
  cluster.start(() => heartbeat(counter, simulatedHourMs))
  cluster.scheduler.run({ untilNs: simulatedHourMs * 1e6 })
  return { wallMs: performance.now() - started, events: counter.events, simulatedMs: cluster.scheduler.now / 1e6 }
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

export const main = async (args: ReadonlyArray<string>): Promise<void> => {
  const seeds = Number(args[0] ?? 20)
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

  let events = 0
  let simulatedMs = 0
  let traceEvents = 0
  const started = performance.now()
  for (let seed = 1; seed <= seeds; seed++) {
    const result = runSeed(seed)
    if (result.result !== "pass") throw new Error(`seed ${seed} failed: ${result.violations.join("; ")}`)
    events += result.events
    traceEvents += result.events
    simulatedMs += result.simulatedMs
  }
  const wallMs = performance.now() - started
  rows.push({
    scenario: `swarm durable-ping, seeds 1..${seeds}`,
    runtime: "cairn SimScheduler",
    simulatedS: simulatedMs / 1000,
    wallMs: Math.round(wallMs),
    events: traceEvents,
    eventsPerS: Math.round(events / (wallMs / 1000)),
    xRealTime: Math.round(simulatedMs / wallMs)
  })

  printTable(rows)
  const path = saveResult({
    benchmark: "sim",
    scenario:
      "idle heartbeat: 3 nodes, 16-byte heartbeat to each peer every 100 ms, 1 simulated hour on the simulator; baseline: the same program on Effect's TestClock (default scheduler, in-memory queues), 6 simulated minutes. swarm: default cairn sim workload, 20 s per seed. Anchor: TigerBeetle's simulator claims ~1000x real time.",
    rows
  })
  process.stdout.write(`saved ${path}\n`)
}
