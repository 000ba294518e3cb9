import { Clock, Disk } from "@cairn/core"
import { inMemoryDisk, instantClock, type InMemoryDisk } from "../index.ts"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { nodeId } from "@cairn/core/node/node-id"
import { initialConfig } from "@cairn/core/raft/membership"
import { makeSnapshotStore } from "@cairn/core/snapshot/snapshot-store"
import { encodeSnapshotMeta } from "@cairn/core/raft/codec"
import { openRaftStorage, type RaftStorage } from "@cairn/core/raft/storage"
import type { Entry } from "@cairn/core/raft/types"

const withStorage = <A>(disk: InMemoryDisk, body: (storage: RaftStorage) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(openRaftStorage({ dir: "/raft" }), body)).pipe(
      Effect.provide(Layer.mergeAll(Layer.succeed(Disk, disk), Layer.succeed(Clock, instantClock())))
    )
  )

/** Overwrites 64 bytes at `offset` with garbage: a slot that rotted. */
const rot = (disk: InMemoryDisk, path: string, offset: number) =>
  Effect.runPromise(Effect.flatMap(disk.open(path, "existing"), (f) => f.write(offset, new Uint8Array(64).fill(0x5a))))

const entryOfTerm = (index: number, term: number): Entry => ({ index, term, kind: "command", data: new TextEncoder().encode(`e${index}`) })
const entry = (index: number): Entry => entryOfTerm(index, 1)

/** The driver's view of the log in memory: these indexes are intact (`entry(i)`), the rest holes. */
const logWith = (intact: ReadonlyArray<number>, make: (index: number) => Entry = entry) => (index: number) =>
  intact.includes(index) ? make(index) : undefined

/** What a restart of the node would recover from `disk`. */
const recover = (disk: InMemoryDisk) => withStorage(disk, (storage) => Effect.succeed(storage.recovered))

/** A WAL of entries 1..10 and a hard state with commit index `commit`; then records `first..last` rot, headers included. */
const tenEntriesWithRottenRecords = async (commit: number, first: number, last: number) => {
  const disk = inMemoryDisk(512)
  await withStorage(disk, (storage) =>
    storage.persist({ hardState: { term: 1, vote: undefined, commit }, truncateFrom: undefined, entries: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(entry) }))
  await rotRecords(disk, first, last)
  return disk
}

/** Rots WAL records `first..last` of `entry(i)`, headers included: a region whose slots' sizes are lost. */
const rotRecords = async (disk: InMemoryDisk, first: number, last: number) => {
  const [name] = (await Effect.runPromise(disk.list("/raft/wal"))).filter((n) => n.endsWith(".seg"))
  const path = `/raft/wal/${name}`
  const bytes = Buffer.from(disk.contents(path)!)
  const from = bytes.indexOf(Buffer.from(`e${first - 1}`)) + `e${first - 1}`.length
  const to = bytes.indexOf(Buffer.from(`e${last}`)) + `e${last}`.length
  await Effect.runPromise(Effect.flatMap(disk.open(path, "existing"), (f) => f.write(from, new Uint8Array(to - from).fill(0x5a))))
}

/** A crash mid-rewrite: the WAL holds 1..7 while the hard state says the log held 10, so 8..10 recover as holes. */
const walShortOfHardState = async () => {
  const disk = inMemoryDisk(512)
  await withStorage(disk, (storage) =>
    storage.persist({ hardState: { term: 1, vote: undefined, commit: 10 }, truncateFrom: undefined, entries: [1, 2, 3, 4, 5, 6, 7].map(entry) }))
  const damaged = await withStorage(disk, (storage) => Effect.succeed(storage.recovered.damaged.map((d) => d.index)))
  expect(damaged).toEqual([8, 9, 10])
  return disk
}

describe("Raft storage recovery", () => {
  it("a node whose every snapshot rotted after compaction recovers its later log and marks the rest holes", async () => {
    const disk = inMemoryDisk(512)
    await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        yield* storage.persist({ hardState: { term: 1, vote: nodeId("n1"), commit: 10 }, truncateFrom: undefined, entries: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(entry) })
        yield* storage.saveSnapshot({ meta: { index: 6, term: 1, config: initialConfig([nodeId("n1")]) }, data: new Uint8Array([1, 2, 3]) })
      }))
    // Rot every snapshot file (the store keeps two; here there is one).
    const snapshots = (await Effect.runPromise(disk.list("/raft/snapshots"))).filter((name) => name.endsWith(".snap")).map((name) => `/raft/snapshots/${name}`)
    expect(snapshots.length).toBe(1)
    for (const path of snapshots) {
      const bytes = disk.contents(path)!
      await Effect.runPromise(Effect.flatMap(disk.open(path, "existing"), (f) => f.write(0, bytes.map((b) => b ^ 0xff))))
    }
    const recovered = await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        // A hole repaired from a peer lies before the WAL's start: kept in memory, not an error.
        yield* storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(3)] })
        return storage.recovered
      }))
    expect(recovered.snapshot).toBeUndefined()
    expect(recovered.hardState).toEqual({ term: 1, vote: nodeId("n1"), commit: 10, commitTerm: 1 })
    expect(recovered.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(recovered.damaged.map((d) => d.index).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6])
    expect(recovered.entries.slice(6)).toEqual([7, 8, 9, 10].map(entry))
  })
})

describe("Raft storage writes", () => {
  it("syncs the hard state when term or vote change, not for a commit index alone (it rides along)", async () => {
    const disk = inMemoryDisk(512)
    const syncs = { hardState: 0 }
    const counting: InMemoryDisk = {
      ...disk,
      open: (path, mode) =>
        Effect.map(disk.open(path, mode), (file) =>
          path.endsWith("/hardstate") ? { ...file, sync: Effect.andThen(Effect.sync(() => syncs.hardState++), file.sync) } : file)
    }
    await withStorage(counting, (storage) =>
      Effect.gen(function*() {
        yield* storage.persist({ hardState: { term: 1, vote: nodeId("n1"), commit: 0 }, truncateFrom: undefined, entries: [entry(1)] })
        const afterVote = syncs.hardState
        yield* storage.persist({ hardState: { term: 1, vote: nodeId("n1"), commit: 1 }, truncateFrom: undefined, entries: [entry(2)] })
        yield* storage.persist({ hardState: { term: 1, vote: nodeId("n1"), commit: 2 }, truncateFrom: undefined, entries: [] })
        expect(syncs.hardState).toBe(afterVote)
        yield* storage.persist({ hardState: { term: 2, vote: undefined, commit: 2 }, truncateFrom: undefined, entries: [] })
        // Both copies, each synced.
        expect(syncs.hardState).toBe(afterVote + 2)
      }))
    // The last write carried the commit index along.
    const recovered = await recover(disk)
    expect(recovered.hardState).toEqual({ term: 2, vote: undefined, commit: 2, commitTerm: 2 })
    expect(recovered.entries.map((e) => e.index)).toEqual([1, 2])
  })
})

describe("Raft storage after an installed snapshot", () => {
  it("a leader's snapshot that rots later leaves holes up to it, never a shorter log", async () => {
    const disk = inMemoryDisk(512)
    const config = initialConfig([nodeId("n1"), nodeId("n2"), nodeId("n3")])
    await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        // A follower with entries 1..6 and its own snapshot at 4, commit durable only at 4.
        yield* storage.persist({ hardState: { term: 1, vote: undefined, commit: 4 }, truncateFrom: undefined, entries: [1, 2, 3, 4, 5, 6].map(entry) })
        yield* storage.saveSnapshot({ meta: { index: 4, term: 1, config }, data: new Uint8Array([4]) })
        // It fell behind; the leader's snapshot at 20 replaces its log.
        yield* storage.installSnapshot({ meta: { index: 20, term: 1, config }, data: new Uint8Array([20]) }, 1)
      }))
    const names = (await Effect.runPromise(disk.list("/raft/snapshots"))).filter((name) => name.endsWith(".snap")).sort()
    const newest = `/raft/snapshots/${names[names.length - 1]}`
    const bytes = disk.contents(newest)!
    await Effect.runPromise(Effect.flatMap(disk.open(newest, "existing"), (f) => f.write(0, bytes.map((b) => b ^ 0xff))))
    const recovered = await recover(disk)
    expect(recovered.snapshot?.meta.index).toBe(4)
    expect(recovered.hardState.commit).toBe(20)
    expect(recovered.entries.map((e) => e.index)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
    expect(recovered.damaged.map((d) => d.index).sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
  })
})

describe("Raft storage hard state copies", () => {
  it("one rotten copy leaves the other with the same term and vote; both lost on a node with a log is an error", async () => {
    const disk = inMemoryDisk(512)
    await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        yield* storage.persist({ hardState: { term: 3, vote: nodeId("n2"), commit: 0 }, truncateFrom: undefined, entries: [entry(1)] })
        yield* storage.persist({ hardState: { term: 4, vote: nodeId("n3"), commit: 1 }, truncateFrom: undefined, entries: [] })
      }))
    for (const slot of [0, 1]) {
      const copy = inMemoryDisk(512)
      for (const path of ["/raft/hardstate"]) {
        const bytes = disk.contents(path)!
        await Effect.runPromise(Effect.flatMap(copy.open(path, "create"), (f) => f.write(0, bytes)))
      }
      // The WAL as well, so the node has a log.
      for (const name of await Effect.runPromise(disk.list("/raft/wal"))) {
        const bytes = disk.contents(`/raft/wal/${name}`)!
        await Effect.runPromise(Effect.flatMap(copy.open(`/raft/wal/${name}`, "create"), (f) => f.write(0, bytes)))
      }
      await rot(copy, "/raft/hardstate", slot * 4096 + 16)
      const recovered = await withStorage(copy, (storage) => Effect.succeed(storage.recovered))
      expect(recovered.hardState).toEqual({ term: 4, vote: nodeId("n3"), commit: 1, commitTerm: 4 })
    }
    await rot(disk, "/raft/hardstate", 16)
    await rot(disk, "/raft/hardstate", 4096 + 16)
    const failed = await Effect.runPromise(Effect.flip(Effect.scoped(openRaftStorage({ dir: "/raft" }))).pipe(
      Effect.provide(Layer.mergeAll(Layer.succeed(Disk, disk), Layer.succeed(Clock, instantClock())))
    ))
    expect(failed._tag).toBe("RaftStorageError")
    expect(failed.message).toMatch(/both copies of the hard state/)
  })
})

describe("Raft storage hard state after a crash between its two writes", () => {
  it("recovery makes both copies equal again, so losing the newer one later loses nothing", async () => {
    const disk = inMemoryDisk(512)
    let older = new Uint8Array(0)
    await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        yield* storage.persist({ hardState: { term: 5, vote: undefined, commit: 0 }, truncateFrom: undefined, entries: [entry(1)] })
        older = disk.contents("/raft/hardstate")!.slice(0, 8192)
        yield* storage.persist({ hardState: { term: 6, vote: nodeId("n2"), commit: 0 }, truncateFrom: undefined, entries: [] })
      }))
    // Emulate the crash: the slot the last write reached second still holds the older version.
    const secondSlot = 0
    await Effect.runPromise(Effect.flatMap(disk.open("/raft/hardstate", "existing"), (f) => f.write(secondSlot * 4096, older.subarray(secondSlot * 4096, secondSlot * 4096 + 4096))))
    const first = await withStorage(disk, (storage) => Effect.succeed(storage.recovered.hardState))
    expect(first).toEqual({ term: 6, vote: nodeId("n2"), commit: 0, commitTerm: 6 })
    // The newer copy rots: the other must hold it too by now.
    const other = 1 - secondSlot
    await Effect.runPromise(Effect.flatMap(disk.open("/raft/hardstate", "existing"), (f) => f.write(other * 4096 + 16, new Uint8Array(64).fill(0x5a))))
    const second = await withStorage(disk, (storage) => Effect.succeed(storage.recovered.hardState))
    expect(second).toEqual({ term: 6, vote: nodeId("n2"), commit: 0, commitTerm: 6 })
  })

  it("the rewrite at recovery overwrites the damaged slot first, never the only good copy", async () => {
    for (const damagedSlot of [0, 1]) {
      const disk = inMemoryDisk(512)
      await withStorage(disk, (storage) =>
        storage.persist({ hardState: { term: 2, vote: nodeId("n1"), commit: 0 }, truncateFrom: undefined, entries: [entry(1)] }))
      await rot(disk, "/raft/hardstate", damagedSlot * 4096 + 16)
      const writes: Array<number> = []
      const recording: InMemoryDisk = {
        ...disk,
        open: (path, mode) =>
          Effect.map(disk.open(path, mode), (file) =>
            path.endsWith("/hardstate") ? { ...file, write: (offset, data) => Effect.andThen(Effect.sync(() => writes.push(offset / 4096)), file.write(offset, data)) } : file)
      }
      const recovered = await withStorage(recording, (storage) => Effect.succeed(storage.recovered.hardState))
      expect(recovered).toEqual({ term: 2, vote: nodeId("n1"), commit: 0, commitTerm: 2 })
      expect(writes).toEqual([damagedSlot, 1 - damagedSlot])
    }
  })
})

describe("Raft storage hard state of a node with an empty log", () => {
  it("refuses to start if it voted and lost both copies, but starts fresh after a torn first write", async () => {
    const voted = inMemoryDisk(512)
    await withStorage(voted, (storage) =>
      storage.persist({ hardState: { term: 3, vote: nodeId("n2"), commit: 0 }, truncateFrom: undefined, entries: [] }))
    await rot(voted, "/raft/hardstate", 16)
    await rot(voted, "/raft/hardstate", 4096 + 16)
    const failed = await Effect.runPromise(Effect.flip(Effect.scoped(openRaftStorage({ dir: "/raft" }))).pipe(
      Effect.provide(Layer.mergeAll(Layer.succeed(Disk, voted), Layer.succeed(Clock, instantClock())))
    ))
    expect(failed._tag).toBe("RaftStorageError")
    expect(failed.message).toMatch(/once had a hard state/)

    // A crash during the very first write: one slot torn, the other never written. Nothing was
    // ever voted, so a fresh start is safe.
    const torn = inMemoryDisk(512)
    await Effect.runPromise(Effect.flatMap(torn.open("/raft/hardstate", "create"), (f) => f.write(4096, new Uint8Array(100).fill(0x5a))))
    const fresh = await withStorage(torn, (storage) => Effect.succeed(storage.recovered.hardState))
    expect(fresh).toEqual({ term: 0, vote: undefined, commit: 0, commitTerm: 0 })
  })

  it("records leadership of the current term durably, and never carries it into the next term", async () => {
    const disk = inMemoryDisk(512)
    await withStorage(disk, (storage) =>
      storage.persist({ hardState: { term: 2, vote: nodeId("n1"), commit: 0, led: true }, truncateFrom: undefined, entries: [] }))
    expect(await withStorage(disk, (storage) => Effect.succeed(storage.recovered.hardState))).toEqual({ term: 2, vote: nodeId("n1"), commit: 0, commitTerm: 2, led: true })
    await withStorage(disk, (storage) =>
      storage.persist({ hardState: { term: 3, vote: undefined, commit: 0 }, truncateFrom: undefined, entries: [] }))
    const next = await withStorage(disk, (storage) => Effect.succeed(storage.recovered.hardState))
    // The commit index did not move, so the term it was learned in stays.
    expect(next).toEqual({ term: 3, vote: undefined, commit: 0, commitTerm: 2 })
    expect(next.led).toBeUndefined()
  })

  it("keeps the term the commit index was learned in with it, through a later term", async () => {
    const disk = inMemoryDisk(512)
    await withStorage(disk, (storage) =>
      storage.persist({ hardState: { term: 3, vote: nodeId("n1"), commit: 0, commitTerm: 3 }, truncateFrom: undefined, entries: [] }))
    // The commit index learned in term 3 rides along with the next write, made in term 5.
    await withStorage(disk, (storage) =>
      storage.persist({ hardState: { term: 5, vote: undefined, commit: 0, commitTerm: 3 }, truncateFrom: undefined, entries: [] }))
    const recovered = await withStorage(disk, (storage) => Effect.succeed(storage.recovered.hardState))
    expect(recovered).toEqual({ term: 5, vote: undefined, commit: 0, commitTerm: 3 })
  })
})

describe("Raft storage: a snapshot past the WAL's end (review of ec873ae)", () => {
  it("restarts the WAL after it, so later appends land where recovery finds them", async () => {
    const disk = await walShortOfHardState()
    await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        // A peer's repair snapshot at 9 covers two of the holes; 10 is filled, 11 appended.
        yield* storage.saveSnapshot({ meta: { index: 9, term: 1, config: initialConfig([nodeId("n1")]) }, data: new Uint8Array([9]) })
        yield* storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(10), entry(11)], logEntry: logWith([10, 11]) })
      }))
    const recovered = await recover(disk)
    expect(recovered.snapshot?.meta.index).toBe(9)
    expect(recovered.damaged).toEqual([])
    expect(recovered.entries.map((e) => e.index)).toEqual([10, 11])
    expect(new TextDecoder().decode(recovered.entries[1]!.data)).toBe("e11")
  })
})

describe("Raft storage: a mapping recovery moves is made durable (review of 5c65f3e)", () => {
  it("a WAL that rots entirely after recovery dropped its covered prefix reads as holes, never a shorter log", async () => {
    const disk = inMemoryDisk(512)
    await withStorage(disk, (storage) =>
      storage.persist({ hardState: { term: 1, vote: undefined, commit: 9 }, truncateFrom: undefined, entries: [1, 2, 3, 4, 5, 6, 7].map(entry) }))
    // A crash inside saveSnapshot: the snapshot file at 9 is written, nothing else.
    await Effect.runPromise(Effect.gen(function*() {
      const store = yield* makeSnapshotStore({ dir: "/raft/snapshots", retain: 2 })
      const meta = encodeSnapshotMeta({ index: 9, term: 1, config: initialConfig([nodeId("n1")]) })
      const bytes = new Uint8Array(4 + meta.length + 1)
      new DataView(bytes.buffer).setUint32(0, meta.length)
      bytes.set(meta, 4)
      yield* store.save(9, bytes)
    }).pipe(Effect.provide(Layer.succeed(Disk, disk))))
    // Recovery drops the WAL's covered records; the node then appends 10..15.
    await withStorage(disk, (storage) =>
      storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [10, 11, 12, 13, 14, 15].map(entry) }))
    // Every record rots (their payloads "e1..." are flipped).
    for (const name of await Effect.runPromise(disk.list("/raft/wal"))) {
      const path = `/raft/wal/${name}`
      const bytes = disk.contents(path)!
      const file = await Effect.runPromise(disk.open(path, "existing"))
      for (let i = 0; i + 1 < bytes.length; i++) {
        if (bytes[i] === 0x65 && bytes[i + 1] === 0x31) await Effect.runPromise(file.write(i, new Uint8Array([0x00])))
      }
    }
    const recovered = await recover(disk)
    expect(recovered.snapshot?.meta.index).toBe(9)
    expect(recovered.entries.map((e) => e.index)).toEqual([10, 11, 12, 13, 14, 15])
    expect(recovered.damaged.map((d) => d.index)).toEqual([10, 11, 12, 13, 14, 15])
  })
})

describe("Raft storage: a fill past the WAL's end (reviews of the fifth session's fixes)", () => {
  it("goes to disk at once, holes after it or not, so the WAL never ends short of an entry the node holds", async () => {
    const disk = await walShortOfHardState()
    // 8 is filled; 9 and 10 are still holes.
    await withStorage(disk, (storage) =>
      storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(8)], logEntry: logWith([1, 2, 3, 4, 5, 6, 7, 8]) }))
    const afterOne = await recover(disk)
    expect(afterOne.damaged.map((d) => d.index)).toEqual([9, 10])
    expect(afterOne.entries[7]).toEqual(entry(8))
    // 10 is filled while 9 is still a hole: 9 gets a hole's record, 10 its own slot; then 9 itself.
    await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        yield* storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(10)], logEntry: logWith([1, 2, 3, 4, 5, 6, 7, 8, 10]) })
        yield* storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(9)], logEntry: logWith([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) })
      }))
    const recovered = await recover(disk)
    expect(recovered.damaged).toEqual([])
    expect(recovered.entries).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(entry))
  })

  it("a fill past a hole, then the leader's next entries: each lands on its own slot, and recovery finds the hole", async () => {
    const disk = await walShortOfHardState()
    // A peer's repair answer fills 9 while 8 is a hole; the leader then sends 10 and 11 after 9.
    await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        yield* storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(9)], logEntry: logWith([1, 2, 3, 4, 5, 6, 7, 9]) })
        yield* storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(10), entry(11)], logEntry: logWith([1, 2, 3, 4, 5, 6, 7, 9, 10, 11]) })
      }))
    const recovered = await recover(disk)
    expect(recovered.damaged).toEqual([{ index: 8, term: undefined }])
    expect(recovered.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    expect(recovered.entries.slice(8)).toEqual([9, 10, 11].map(entry))
  })

  it("a new entry after holes past the WAL's end lands on its own slot, the holes before it as hole records", async () => {
    const disk = await walShortOfHardState()
    const log = logWith([1, 2, 3, 4, 5, 6, 7, 11], (i) => entryOfTerm(i, i === 11 ? 2 : 1))
    await withStorage(disk, (storage) => storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entryOfTerm(11, 2)], logEntry: log }))
    const recovered = await recover(disk)
    expect(recovered.damaged.map((d) => d.index)).toEqual([8, 9, 10])
    expect(recovered.entries.at(-1)).toEqual(entryOfTerm(11, 2))
  })
})

describe("Raft storage: a conflict inside a headerless damaged region", () => {
  it("keeps the entries the WAL's earlier cut drops as holes, so a crash right after never leaves a shorter log", async () => {
    const disk = await tenEntriesWithRottenRecords(5, 7, 8)
    await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        expect(storage.recovered.damaged.map((d) => d.index)).toEqual([7, 8])
        // The log drops 8 on: the WAL can only cut at 7, where the region starts. Then the node crashes.
        yield* storage.persist({ hardState: undefined, truncateFrom: 8, entries: [], logEntry: logWith([1, 2, 3, 4, 5, 6]) })
      }))
    const recovered = await recover(disk)
    expect(recovered.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(recovered.damaged.map((d) => d.index)).toEqual([7])
  })
})

describe("Raft storage: a repair that must cut the WAL", () => {
  it("waits while a later entry is still a hole, so the intact entries after the cut are never lost", async () => {
    // Rot records 8 and 9, headers included: a damaged region whose slots' sizes are unknown.
    const disk = await tenEntriesWithRottenRecords(10, 8, 9)
    await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        expect(storage.recovered.damaged.map((d) => d.index)).toEqual([8, 9])
        // 8 is filled, 9 is not: rewriting from 8 would drop 9 and 10 with it.
        yield* storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(8)], logEntry: logWith([1, 2, 3, 4, 5, 6, 7, 8, 10]) })
      }))
    const recovered = await recover(disk)
    expect(recovered.damaged.map((d) => d.index)).toEqual([8, 9])
    expect(recovered.entries.slice(9)).toEqual([entry(10)])
  })
})

describe("Raft storage: a fill held in memory", () => {
  it("is written as soon as the later hole it waited for is filled", async () => {
    // The hard state says the log held 12; the WAL holds 1..10, and records 5 and 6 lose their headers.
    const disk = await tenEntriesWithRottenRecords(12, 5, 6)
    const all = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    await withStorage(disk, (storage) =>
      Effect.gen(function*() {
        expect(storage.recovered.damaged.map((d) => d.index)).toEqual([5, 6, 11, 12])
        // 5 and 6 cannot be rewritten in place, nor from there while 11 and 12 are holes: they wait.
        yield* storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(5), entry(6)], logEntry: logWith(all.filter((i) => i <= 10)) })
        // 11 and 12 are filled: the rewrite from 5 now reaches the log's end, and is done.
        yield* storage.persist({ hardState: undefined, truncateFrom: undefined, entries: [entry(11), entry(12)], logEntry: logWith(all) })
      }))
    const recovered = await recover(disk)
    expect(recovered.damaged).toEqual([])
    expect(recovered.entries).toEqual(all.map(entry))
  })
})
