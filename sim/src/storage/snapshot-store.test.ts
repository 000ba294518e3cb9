import { Clock, Disk, nodeId, type DiskShape } from "@cairn/core"
import { inMemoryDisk, instantClock } from "@cairn/runtime-test"
import { faultFreeCluster } from "../cluster.ts"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { openWal } from "@cairn/core/wal/wal"
import { makeSnapshotStore } from "@cairn/core/snapshot/snapshot-store"

const run = <A, E>(disk: DiskShape, body: Effect.Effect<A, E, Disk | Clock | import("effect").Scope.Scope>) =>
  Effect.runPromise(
    Effect.scoped(body).pipe(Effect.provide(Layer.mergeAll(Layer.succeed(Disk, disk), Layer.succeed(Clock, instantClock()))))
  )
const data = (n: number, fill: number) => new Uint8Array(n).fill(fill)

describe("snapshot store", () => {
  it("saves, loads the newest, and keeps only the retained number", async () => {
    const disk = inMemoryDisk(512)
    const loaded = await run(
      disk,
      Effect.gen(function* () {
        const store = yield* makeSnapshotStore({ retain: 2 })
        for (const seq of [10, 20, 30]) yield* store.save(seq, data(3000, seq))
        expect(yield* store.list).toEqual([20, 30])
        return yield* store.load
      })
    )
    expect(loaded.snapshot?.seq).toBe(30)
    expect(loaded.snapshot?.data).toEqual(data(3000, 30))
    expect(loaded.damaged).toEqual([])
  })

  it("a damaged newest snapshot is reported and the older one is used", async () => {
    const disk = inMemoryDisk(512)
    await run(
      disk,
      Effect.gen(function* () {
        const store = yield* makeSnapshotStore()
        yield* store.save(10, data(100, 1))
        yield* store.save(20, data(100, 2))
        const f = yield* disk.open("snapshots/0000000000000020.snap", "existing")
        yield* f.write(60, new Uint8Array([9]))
        const loaded = yield* store.load
        expect(loaded.snapshot?.seq).toBe(10)
        expect(loaded.damaged).toEqual([{ path: "snapshots/0000000000000020.snap", seq: 20, reason: "checksum" }])
      })
    )
  })

  it("compacts the log below the oldest retained snapshot", async () => {
    const disk = inMemoryDisk(512)
    await run(
      disk,
      Effect.gen(function* () {
        const wal = yield* openWal({ segmentBytes: 16 * 1024 })
        for (let i = 0; i < 50; i++) yield* wal.appendDurable(data(10, i))
        const store = yield* makeSnapshotStore({ retain: 2 })
        yield* store.save(20, data(10, 0))
        yield* store.compactWal(wal)
        expect(wal.firstSeq()).toBe(21)
        yield* store.save(40, data(10, 0))
        yield* store.compactWal(wal)
        expect(wal.firstSeq()).toBe(21)
        yield* store.save(45, data(10, 0))
        yield* store.compactWal(wal)
        expect(wal.firstSeq()).toBe(41)
      })
    )
  })

  it("a crash at any point of a save leaves the old snapshot or the new one, never a broken one", () => {
    let sawNew = 0
    let sawOld = 0
    for (let i = 0; i < 30; i++) {
      const cluster = faultFreeCluster({ seed: `snap-${i}`, disk: { latencyNs: [10_000, 100_000] } })
      const n1 = nodeId("n1")
      const outcome: { loaded?: number | undefined; damaged?: number; data?: boolean } = {}
      cluster.start(({ incarnation }) =>
        Effect.orDie(
          Effect.gen(function* () {
            const store = yield* makeSnapshotStore()
            if (incarnation === 0) {
              yield* store.save(1, data(10_000, 1))
              yield* Effect.yieldNow
              yield* store.save(2, data(10_000, 2))
              return
            }
            const loaded = yield* store.load
            outcome.loaded = loaded.snapshot?.seq
            outcome.damaged = loaded.damaged.length
            outcome.data = loaded.snapshot !== undefined && loaded.snapshot.data.every((b) => b === loaded.snapshot!.seq)
          })
        )
      )
      cluster.scheduler.run({ untilNs: 300_000 + i * 40_000 })
      cluster.crash(n1)
      cluster.restart(n1)
      cluster.scheduler.run({ untilNs: cluster.scheduler.now + 100_000_000 })
      expect(outcome.damaged).toBe(0)
      if (outcome.loaded !== undefined) expect(outcome.data).toBe(true)
      if (outcome.loaded === 2) sawNew++
      if (outcome.loaded === 1) sawOld++
    }
    expect(sawNew).toBeGreaterThan(0)
    expect(sawOld).toBeGreaterThan(0)
  })
})
