/**
 * One replicated partition with a single voter over the in-memory services:
 * appends answered with offsets once committed, reads bounded by the high
 * watermark, and a restart that re-applies the Raft log into a segment log
 * that lost its batches.
 */
import { Clock, Disk, Random, type DiskShape } from "@cairn/core"
import { encodeBatch } from "@cairn/core/log/record-batch"
import { makeGroupTransport } from "@cairn/core/log/replication/group-transport"
import { openPartitionReplica, type PartitionReplica, type PartitionReplicaConfig } from "@cairn/core/log/replication/partition-replica"
import { nodeId } from "@cairn/core/node/node-id"
import { makeFrameDemux } from "@cairn/core/transport/frame-demux"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { inMemoryDisk, inMemoryNetwork, instantClock, seededRandom, seededSource } from "../index.ts"

const n1 = nodeId("n1")
const batch = (value: number) =>
  encodeBatch({ baseTimestamp: 1, records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: Uint8Array.of(value), headers: [] }] })

/**
 * Opens the replica on `disk`, runs `body` once it leads, and closes it. Each incarnation draws from
 * its own random stream, as every runtime gives it (request keys and Raft's read contexts rely on it).
 */
const withReplica = <A, E>(
  disk: DiskShape,
  body: (r: PartitionReplica) => Effect.Effect<A, E>,
  incarnation = 1,
  clock = instantClock(),
  extra: Partial<PartitionReplicaConfig> = {}
) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const net = yield* inMemoryNetwork([n1])
        const network = net.node(n1)
        const frames = makeFrameDemux(network)
        const replica = yield* openPartitionReplica({ id: n1, group: "t.0", voters: [n1], dir: "log/t.0", transport: makeGroupTransport(network, frames), ...extra })
        yield* Effect.forkScoped(Effect.raceFirst(frames.run, replica.run))
        const clock = yield* Clock
        while ((yield* replica.raft.status).role !== "leader") yield* clock.sleep(50)
        return yield* body(replica)
      })
    ).pipe(
      Effect.provide(Layer.mergeAll(
        Layer.succeed(Clock, clock),
        Layer.succeed(Random, seededRandom(seededSource(`replica-test/${incarnation}`))),
        Layer.succeed(Disk, disk)
      ))
    )
  )

const values = (batches: ReadonlyArray<Uint8Array>) => batches.map((b) => b[b.length - 2])

describe("a replicated partition (one voter)", () => {
  it("answers appends with their offsets and serves them up to the high watermark", async () => {
    const out = await withReplica(inMemoryDisk(), (r) =>
      Effect.gen(function*() {
        const offsets = [yield* r.append(batch(1), 1_000), yield* r.append(batch(2), 1_000)].map((a) => a.baseOffset)
        const all = yield* r.read(0, 1 << 20, { linearizable: true, timeoutMs: 1_000 })
        const tail = yield* r.read(1, 1 << 20, { linearizable: true, timeoutMs: 1_000 })
        const end = yield* r.read(2, 1 << 20, { linearizable: false, timeoutMs: 1_000 })
        const past = yield* Effect.flip(r.read(3, 1 << 20, { linearizable: false, timeoutMs: 1_000 }))
        const refused = yield* Effect.flip(r.append(new Uint8Array(10), 1_000))
        return { offsets, all: values(all.batches), hw: all.highWatermark, tail: values(tail.batches), end: end.batches.length, past: past._tag, refused: refused._tag }
      }))
    expect(out).toEqual({ offsets: [0, 1], all: [1, 2], hw: 2, tail: [2], end: 0, past: "LogOffsetOutOfRangeError", refused: "AppendRefusedError" })
  })

  it("after a restart, re-applies the Raft log into a segment log that lost its batches", async () => {
    const disk = inMemoryDisk()
    await withReplica(disk, (r) => Effect.forEach([1, 2, 3], (v) => r.append(batch(v), 1_000)))
    // The segment files are gone (a lost disk region, say); Raft's WAL is not.
    const removed = await Effect.runPromise(
      Effect.gen(function*() {
        const names = yield* disk.list("log/t.0/data")
        for (const name of names) yield* disk.remove(`log/t.0/data/${name}`)
        return names.length
      })
    )
    expect(removed).toBeGreaterThan(0)
    const out = await withReplica(disk, (r) =>
      Effect.gen(function*() {
        const next = yield* r.append(batch(4), 1_000)
        const all = yield* r.read(0, 1 << 20, { linearizable: true, timeoutMs: 1_000 })
        return { next: next.baseOffset, all: values(all.batches) }
      }), 2)
    expect(out).toEqual({ next: 3, all: [1, 2, 3, 4] })
  })

  it("snapshots and compacts its Raft log every N entries; restarted, it restores the snapshot and serves every batch", async () => {
    const disk = inMemoryDisk()
    // Raft's log as the observer last saw it: its first index moves past the compacted entries.
    let firstIndex = 0
    const extra = {
      snapshot: { every: 5, syncBytes: 200 },
      observer: { afterReady: (raft: { readonly log: { firstIndex: () => number } }) => void (firstIndex = raft.log.firstIndex()) }
    }
    const first = await withReplica(disk, (r) => Effect.map(Effect.forEach(Array.from({ length: 12 }, (_, i) => i + 1), (v) => r.append(batch(v), 1_000)), () => r.snapshots()), 1, instantClock(), extra)
    expect(first.taken).toBeGreaterThanOrEqual(2)
    expect(firstIndex).toBeGreaterThan(10) // entries 1..10 or more (the election's too) are gone from Raft's log
    const out = await withReplica(disk, (r) =>
      Effect.gen(function*() {
        const next = yield* r.append(batch(13), 1_000)
        const all = yield* r.read(0, 1 << 20, { linearizable: true, timeoutMs: 1_000 })
        return { next: next.baseOffset, all: values(all.batches), restored: r.snapshots().restored }
      }), 2, instantClock(), extra)
    expect(out).toEqual({ next: 12, all: Array.from({ length: 13 }, (_, i) => i + 1), restored: 1 })
  })

  it("restarted after compaction with its unsynced segment data lost, rebuilds it from the snapshot's tail", async () => {
    const disk = inMemoryDisk()
    // Never synced: every batch behind a snapshot lives on only in the snapshot's tail (no peer to copy from).
    const extra = { snapshot: { every: 5, syncBytes: 1 << 20 } }
    const first = await withReplica(disk, (r) => Effect.map(Effect.forEach([1, 2, 3, 4, 5, 6, 7, 8], (v) => r.append(batch(v), 1_000)), () => r.snapshots()), 1, instantClock(), extra)
    expect(first.taken).toBeGreaterThanOrEqual(1)
    await Effect.runPromise(
      Effect.gen(function*() {
        for (const name of yield* disk.list("log/t.0/data")) yield* disk.remove(`log/t.0/data/${name}`)
      })
    )
    const clock = instantClock()
    const out = await withReplica(disk, (r) =>
      Effect.gen(function*() {
        for (let i = 0; i < 100 && r.log.logEndOffset() < r.highWatermark(); i++) yield* clock.sleep(10)
        const all = yield* r.read(0, 1 << 20, { linearizable: true, timeoutMs: 1_000 })
        return { all: values(all.batches), restored: r.snapshots().restored, copied: r.snapshots().batchesCopied }
      }), 2, clock, extra)
    expect(out).toEqual({ all: [1, 2, 3, 4, 5, 6, 7, 8], restored: 1, copied: 0 })
  })

  it("reopened in the same process (the same random stream, later in time), answers a new append with its own offset", async () => {
    const disk = inMemoryDisk()
    const clock = instantClock()
    await withReplica(disk, (r) => Effect.forEach([1, 2, 3], (v) => r.append(batch(v), 1_000)), 1, clock)
    clock.advance(100)
    // As a node restarted after a storage failure: the same Random service, so the same draws.
    const out = await withReplica(disk, (r) =>
      Effect.gen(function*() {
        const next = yield* r.append(batch(4), 1_000)
        return { next: next.baseOffset, duplicate: next.duplicate }
      }), 1, clock)
    expect(out).toEqual({ next: 3, duplicate: false })
  })
})
