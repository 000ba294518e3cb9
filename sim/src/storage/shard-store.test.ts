import { Clock, Disk, nodeId, type DiskShape } from "@cairn/core"
import { inMemoryDisk, instantClock } from "@cairn/runtime-test"
import { faultFreeCluster } from "../cluster.ts"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { scrub, type ScrubReport } from "@cairn/core/shard-store/scrubber"
import { makeShardStore } from "@cairn/core/shard-store/shard-store"

const run = <A, E>(disk: DiskShape, body: Effect.Effect<A, E, Disk | Clock>) =>
  Effect.runPromise(body.pipe(Effect.provide(Layer.mergeAll(Layer.succeed(Disk, disk), Layer.succeed(Clock, instantClock())))))
const data = (n: number, fill: number) => new Uint8Array(n).fill(fill)

describe("shard store", () => {
  it("stores, verifies on read, replaces and removes shards", async () => {
    const disk = inMemoryDisk(512)
    await run(
      disk,
      Effect.gen(function* () {
        const store = yield* makeShardStore()
        yield* store.put("obj1.0", data(5000, 1))
        yield* store.put("obj1.1", data(10, 2))
        expect(yield* store.get("obj1.0")).toEqual(data(5000, 1))
        yield* store.put("obj1.0", data(7, 3))
        expect(yield* store.get("obj1.0")).toEqual(data(7, 3))
        expect(yield* store.list).toEqual(["obj1.0", "obj1.1"])
        yield* store.remove("obj1.1")
        expect((yield* Effect.flip(store.get("obj1.1")))._tag).toBe("ShardNotFoundError")
        expect((yield* Effect.flip(store.put("../escape", data(1, 1))))._tag).toBe("ShardIdError")
      })
    )
  })

  it("never serves a shard whose bytes changed, and the scrubber reports it", async () => {
    const disk = inMemoryDisk(512)
    const report = await run(
      disk,
      Effect.gen(function* () {
        const store = yield* makeShardStore()
        for (let i = 0; i < 5; i++) yield* store.put(`s${i}`, data(2000, i))
        const f = yield* disk.open("shards/s3.shard", "existing")
        yield* f.write(1000, new Uint8Array([0xff]))
        const h = yield* disk.open("shards/s4.shard", "existing")
        yield* h.write(16, new Uint8Array([0xff]))
        expect(yield* Effect.flip(store.get("s3"))).toMatchObject({ _tag: "ShardCorruptError", reason: "checksum" })
        return yield* scrub(store)
      })
    )
    expect(report).toEqual({
      checked: 5,
      healthy: 3,
      bytesVerified: 6000,
      findings: [
        { id: "s3", kind: "corrupt", detail: "checksum" },
        { id: "s4", kind: "corrupt", detail: "header" }
      ]
    } satisfies ScrubReport)
  })

  it("on the simulated disk the scrubber finds bit rot (corrupt) and latent sector errors (unreadable)", () => {
    const cluster = faultFreeCluster({ seed: "scrub" })
    const n1 = nodeId("n1")
    const reports: Array<ScrubReport> = []
    cluster.start(() =>
      Effect.orDie(
        Effect.gen(function* () {
          const store = yield* makeShardStore()
          for (let i = 0; i < 20; i++) yield* store.put(`s${i}`, data(3000, i))
          const clock = yield* Clock
          yield* clock.sleep(10)
          yield* store.put("latent", data(3000, 99))
          reports.push(yield* scrub(store))
          yield* clock.sleep(10)
          reports.push(yield* scrub(store))
        })
      )
    )
    const disk = cluster.disk(n1)
    cluster.scheduler.run({ untilNs: 5_000_000 })
    disk.config = { ...disk.config, bitRotRate: 0.3, latentSectorRate: 1 }
    cluster.scheduler.run({ untilNs: 15_000_000 })
    disk.config = { ...disk.config, bitRotRate: 0, latentSectorRate: 0 }
    cluster.scheduler.run({ untilNs: 100_000_000 })
    expect(reports).toHaveLength(2)
    const rotted = cluster.faults.count("disk.bit-rot")
    expect(rotted).toBeGreaterThan(0)
    const [first, second] = [reports[0]!, reports[1]!]
    const corrupt = first.findings.filter((f) => f.kind === "corrupt")
    // A flip past the end of a shard's last sector is invisible, so at most one finding per flip.
    expect(corrupt.length).toBeGreaterThan(0)
    expect(corrupt.length).toBeLessThanOrEqual(rotted)
    expect(first.findings.filter((f) => f.kind === "unreadable").map((f) => f.id)).toEqual(["latent"])
    // Rot and latent sectors are durable: the second pass, with no new faults, finds the same.
    expect(second.findings).toEqual(first.findings)
    expect(first.healthy + first.findings.length).toBe(21)
  })

  it("overlapping puts of one id (a duplicated request) never leave an acknowledged shard empty or torn, with fsyncs failing", () => {
    // Seed 115 of the objects workload: a duplicated put shared one temporary file with the
    // original; the original's failed fsync dropped the unsynced data, and the duplicate's fsync
    // then "succeeded" on the empty file, renamed it into place and acknowledged it.
    const cluster = faultFreeCluster({ seed: "overlapping-puts", disk: { latencyNs: [10_000, 300_000], syncFailureRate: 0.25 } })
    const outcomes: Array<{ readonly acknowledged: boolean; readonly readBack: string }> = []
    cluster.start(() =>
      Effect.orDie(
        Effect.gen(function* () {
          const store = yield* makeShardStore()
          for (let i = 0; i < 200; i++) {
            const id = `body${i}.0.1`
            const shard = data(9000, i % 251)
            const puts = yield* Effect.all([Effect.result(store.put(id, shard)), Effect.result(store.put(id, shard))], { concurrency: 2 })
            const got = yield* Effect.result(store.get(id))
            outcomes.push({
              acknowledged: puts.some((r) => r._tag === "Success"),
              readBack: got._tag === "Success" ? (got.success.every((b, j) => b === shard[j]) && got.success.length === shard.length ? "intact" : "other bytes") : got.failure._tag
            })
          }
        })
      )
    )
    cluster.scheduler.run({ untilNs: 10_000_000_000 })
    expect(outcomes).toHaveLength(200)
    expect(cluster.faults.count("disk.fsync-failure")).toBeGreaterThan(20)
    // Some pairs must really have had one put fail and the other succeed, or this proves nothing.
    expect(outcomes.filter((o) => o.acknowledged).length).toBeGreaterThan(100)
    expect(outcomes.filter((o) => o.acknowledged && o.readBack !== "intact")).toEqual([])
  })
})
