import { Clock, Disk, nodeId } from "@cairn/core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { quietCluster, runFor, startPrograms, valueOf } from "./harness.test-support.ts"
import { simulationEpochMs } from "./clock.ts"

const n1 = nodeId("n1")

describe("SimCluster processes and clocks", () => {
  it("a skewed, drifting clock reads skewed time and sleeps on its own rate", () => {
    const cluster = quietCluster({ nodes: 2, clocks: [{ skewMs: 1_500, driftPpm: 100_000 - 1 }, { skewMs: 0, driftPpm: 0 }] })
    const outcomes = startPrograms(cluster, {
      n1: Effect.gen(function*() {
        const clock = yield* Clock
        const wall0 = yield* clock.wallMs
        yield* clock.sleep(1_000)
        return { wall0, mono: yield* clock.monotonicMs }
      })
    })
    runFor(cluster, 10_000)
    const { wall0, mono } = valueOf(outcomes.n1)
    expect(wall0).toBe(simulationEpochMs + 1_500)
    expect(mono).toBeCloseTo(1_000, 3)
    // Running ~10% fast, its 1000 ms sleep ended after ~909 ms of true time.
    expect(cluster.scheduler.now / 1e6).toBeLessThan(10_001)
    const jumped = quietCluster({ clocks: [{ skewMs: 0, driftPpm: 0 }] })
    jumped.jumpClock(n1, -60_000)
    expect(jumped.clock(n1).wallMs()).toBe(simulationEpochMs - 60_000)
  })

  it("a paused node's timers wait for it to resume", () => {
    const cluster = quietCluster()
    const ticks: Array<number> = []
    startPrograms(cluster, {
      n1: Effect.gen(function*() {
        for (let i = 0; i < 10; i++) {
          yield* (yield* Clock).sleep(100)
          ticks.push(cluster.scheduler.now / 1e6)
        }
      })
    })
    runFor(cluster, 250)
    cluster.pause(n1)
    runFor(cluster, 1_000)
    expect(ticks).toEqual([100, 200])
    cluster.resume(n1)
    runFor(cluster, 1)
    expect(ticks).toEqual([100, 200, 1250])
  })

  it("a crash ends the node's fibers and a restart runs the program again from scratch", () => {
    const cluster = quietCluster()
    const starts: Array<number> = []
    cluster.start(({ incarnation }) =>
      Effect.gen(function*() {
        starts.push(incarnation)
        const disk = yield* Disk
        const file = yield* Effect.orDie(disk.open("d/f", "create"))
        yield* Effect.orDie(file.write(0, new Uint8Array([incarnation])))
        yield* Effect.never
      })
    )
    runFor(cluster, 10)
    cluster.crash(n1)
    expect(cluster.status(n1)).toBe("crashed")
    cluster.restart(n1)
    runFor(cluster, 10)
    expect(starts).toEqual([0, 1])
  })

  it("a node program that dies is a violation that stops the run", () => {
    const cluster = quietCluster()
    cluster.start(() => Effect.die(new Error("boom")))
    runFor(cluster, 10)
    expect(cluster.violations.length).toBe(1)
    expect(cluster.violations[0]).toContain("boom")
  })
})
