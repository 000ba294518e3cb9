import { Clock, Disk, DiskIOError, type DiskShape } from "@cairn/core"
import { inMemoryDisk, instantClock, type InMemoryDisk } from "../index.ts"
import { Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { HEADER_BYTES, segmentPath, superblockPath } from "@cairn/core/wal/format"
import { SyncStrategy } from "@cairn/core/wal/sync-strategy"
import { openWal, type Wal, type WalConfig } from "@cairn/core/wal/wal"

const enc = (s: string) => new TextEncoder().encode(s)
const dec = (b: Uint8Array) => new TextDecoder().decode(b)

/** Runs `body` against a WAL opened on `disk`, closing it afterwards. */
const withWal = <A, E>(disk: DiskShape, config: WalConfig, body: (wal: Wal) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(openWal(config), body)).pipe(
      Effect.provide(Layer.mergeAll(Layer.succeed(Disk, disk), Layer.succeed(Clock, instantClock())))
    )
  )

/** Overwrites bytes of a file directly, as rot or a stray write would. */
const scribble = (disk: InMemoryDisk, path: string, offset: number, bytes: Uint8Array) =>
  Effect.runPromise(Effect.flatMap(disk.open(path, "existing"), (f) => f.write(offset, bytes)))

const counting = (disk: DiskShape) => {
  const counts = { sync: 0 }
  const wrapped: DiskShape = {
    ...disk,
    open: (path, mode) =>
      Effect.map(disk.open(path, mode), (f) => ({
        ...f,
        sync: Effect.andThen(Effect.sync(() => counts.sync++), f.sync)
      }))
  }
  return { disk: wrapped, counts }
}

const letWriterRun = Effect.forEach(Array.from({ length: 20 }), () => Effect.yieldNow, { discard: true })

const small: WalConfig = { segmentBytes: 16 * 1024 }

describe("wal on a fault-free disk", () => {
  it("appends, reads back and survives a reopen", async () => {
    const disk = inMemoryDisk(512)
    const seqs = await withWal(disk, small, (wal) =>
      Effect.forEach(["a", "bb", "", "dddd"], (s) => wal.appendDurable(enc(s)))
    )
    expect(seqs).toEqual([1, 2, 3, 4])
    const back = await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        expect(wal.recovery.lastSeq).toBe(4)
        expect(wal.recovery.damaged).toEqual([])
        return yield* Effect.forEach([1, 2, 3, 4], (s) => Effect.map(wal.read(s), dec))
      })
    )
    expect(back).toEqual(["a", "bb", "", "dddd"])
  })

  it("group commit: many concurrent durable appends share few fsyncs", async () => {
    const { disk, counts } = counting(inMemoryDisk(512))
    const n = 200
    await withWal(disk, {}, (wal) =>
      Effect.gen(function* () {
        const before = counts.sync
        const seqs = yield* Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => wal.appendDurable(enc(`r${i}`)), {
          concurrency: "unbounded"
        })
        expect(new Set(seqs).size).toBe(n)
        expect(wal.durableSeq()).toBe(n)
        // Each group commit costs a data fsync and a superblock fsync.
        expect(counts.sync - before).toBeLessThan(n / 4)
      })
    )
  })

  it("serial durable appends each get their own fsync (the group-commit check above is not vacuous)", async () => {
    const { disk, counts } = counting(inMemoryDisk(512))
    await withWal(disk, {}, (wal) =>
      Effect.gen(function* () {
        const before = counts.sync
        for (let i = 0; i < 20; i++) yield* wal.appendDurable(enc(`r${i}`))
        expect(counts.sync - before).toBeGreaterThanOrEqual(20)
      })
    )
  })

  it("rolls over segments and reads across them after a reopen", async () => {
    const disk = inMemoryDisk(512)
    const payload = (i: number) => enc(`record-${i}-`.padEnd(300, String.fromCharCode(97 + (i % 26))))
    await withWal(disk, small, (wal) => Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => wal.appendDurable(payload(i))))
    const segments = await Effect.runPromise(disk.list("wal"))
    expect(segments.filter((n) => n.endsWith(".seg")).length).toBeGreaterThan(3)
    await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        expect(wal.recovery.lastSeq).toBe(200)
        for (let i = 0; i < 200; i++) expect(yield* wal.read(i + 1)).toEqual(payload(i))
      })
    )
  })

  it("an unsynced tail that is damaged is cut; the same damage below the durable end is reported", async () => {
    const tail = inMemoryDisk(512)
    await withWal(tail, { ...small, sync: SyncStrategy.none }, (wal) =>
      Effect.andThen(Effect.forEach(["one", "two", "three"], (s) => wal.append(enc(s))), letWriterRun)
    )
    // Records are physically there (the in-memory disk keeps everything) but never synced: damage the last.
    const lastOffset = 2 * (HEADER_BYTES + 8)
    await scribble(tail, segmentPath("wal", 1), lastOffset + HEADER_BYTES, enc("XX"))
    await withWal(tail, small, (wal) =>
      Effect.gen(function* () {
        expect(wal.recovery.lastSeq).toBe(2)
        expect(wal.recovery.damaged).toEqual([])
        expect(wal.recovery.tailRecords).toBe(2)
      })
    )

    const durable = inMemoryDisk(512)
    await withWal(durable, small, (wal) => Effect.forEach(["one", "two", "three"], (s) => wal.appendDurable(enc(s))))
    await scribble(durable, segmentPath("wal", 1), lastOffset + HEADER_BYTES, enc("XX"))
    await withWal(durable, small, (wal) =>
      Effect.gen(function* () {
        expect(wal.recovery.lastSeq).toBe(3)
        expect(wal.recovery.damaged).toEqual([{ seq: 3, segment: 1, offset: lastOffset, reason: "payload-checksum" }])
        const exit = yield* Effect.exit(wal.read(3))
        expect(Exit.isFailure(exit) && JSON.stringify(exit.cause).includes("WalCorruptRecordError")).toBe(true)
        expect(dec(yield* wal.read(2))).toBe("two")
      })
    )
  })

  it("mid-log corruption is reported by position and repaired in place with a good copy", async () => {
    const disk = inMemoryDisk(512)
    const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
    await withWal(disk, small, (wal) => Effect.forEach(words, (s) => wal.appendDurable(enc(s))))
    // Wipe the whole header of record 3: its length is gone too.
    const third = 2 * (HEADER_BYTES + 8)
    await scribble(disk, segmentPath("wal", 1), third, new Uint8Array(HEADER_BYTES))
    await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        expect(wal.recovery.damaged).toEqual([{ seq: 3, segment: 1, offset: third, reason: "header" }])
        expect(wal.recovery.lastSeq).toBe(6)
        expect(dec(yield* wal.read(4))).toBe("delta")
        expect(dec(yield* wal.read(6))).toBe("foxtrot")
        const wrongSize = yield* Effect.exit(wal.repair(3, enc("a much longer payload than the slot")))
        expect(Exit.isFailure(wrongSize)).toBe(true)
        yield* wal.repair(3, enc("charlie"))
        expect(wal.damaged()).toEqual([])
        expect(dec(yield* wal.read(3))).toBe("charlie")
      })
    )
    await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        expect(wal.recovery.damaged).toEqual([])
        expect(dec(yield* wal.read(3))).toBe("charlie")
      })
    )
  })

  it("a read that finds rot reports it and never returns the bytes", async () => {
    const disk = inMemoryDisk(512)
    await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        yield* Effect.forEach(["one", "two"], (s) => wal.appendDurable(enc(s)))
        yield* Effect.promise(() => scribble(disk, segmentPath("wal", 1), HEADER_BYTES, enc("X")))
        const exit = yield* Effect.exit(wal.read(1))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(wal.damaged().map((d) => d.seq)).toEqual([1])
        expect(dec(yield* wal.read(2))).toBe("two")
      })
    )
  })

  it("a suffix truncation is durable and truncated records never come back", async () => {
    const disk = inMemoryDisk(512)
    await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        yield* Effect.forEach(["a1", "a2", "a3", "a4", "a5", "a6"], (s) => wal.appendDurable(enc(s)))
        yield* wal.truncateSuffix(3)
        expect(wal.lastSeq()).toBe(2)
        // Same-sized records, unsynced: old a5 and a6 now sit exactly where seq 5 and 6 would go.
        yield* Effect.forEach(["b3", "b4"], (s) => wal.append(enc(s)))
        yield* letWriterRun
      })
    )
    await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        expect(wal.recovery.lastSeq).toBe(4)
        expect(dec(yield* wal.read(3))).toBe("b3")
        expect(dec(yield* wal.read(4))).toBe("b4")
      })
    )
  })

  it("a prefix truncation removes whole segments below it", async () => {
    const disk = inMemoryDisk(512)
    const payload = (i: number) => enc(`p${i}`.padEnd(500, "."))
    await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i + 1), (i) => wal.appendDurable(payload(i)))
        yield* wal.truncatePrefix(60)
        expect(wal.firstSeq()).toBe(60)
      })
    )
    const names = await Effect.runPromise(disk.list("wal"))
    expect(names).not.toContain("00000001.seg")
    await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        expect(wal.recovery.firstSeq).toBe(60)
        expect(wal.recovery.lastSeq).toBe(100)
        expect(Exit.isFailure(yield* Effect.exit(wal.read(59)))).toBe(true)
        expect(yield* wal.read(60)).toEqual(payload(60))
        expect(yield* wal.appendDurable(enc("next"))).toBe(101)
      })
    )
  })

  it("a failed segment removal is reported as a removal, and stops the log", async () => {
    const base = inMemoryDisk(512)
    const disk: DiskShape = {
      ...base,
      remove: (path) => Effect.fail(new DiskIOError({ op: "remove", path, message: "EIO" }))
    }
    const payload = (i: number) => enc(`p${i}`.padEnd(500, "."))
    const failure = await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i + 1), (i) => wal.appendDurable(payload(i)))
        const cut = yield* Effect.flip(wal.truncatePrefix(60))
        // Fail-stop: the directory's state is unknown, so the log takes no more appends.
        expect(Exit.isFailure(yield* Effect.exit(wal.append(enc("after"))))).toBe(true)
        return cut
      })
    )
    expect(failure).toMatchObject({ _tag: "WalFailedError", op: "remove", path: segmentPath("wal", 1) })
  })

  it("a prefix truncation past the end restarts the log at that sequence number", async () => {
    const disk = inMemoryDisk(512)
    await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        yield* Effect.forEach(["a", "b"], (s) => wal.appendDurable(enc(s)))
        yield* wal.truncatePrefix(1000)
        expect(yield* wal.appendDurable(enc("z"))).toBe(1000)
      })
    )
    await withWal(disk, small, (wal) =>
      Effect.gen(function* () {
        expect([wal.recovery.firstSeq, wal.recovery.lastSeq]).toEqual([1000, 1000])
        expect(dec(yield* wal.read(1000))).toBe("z")
      })
    )
  })

  it("survives one damaged superblock copy and refuses to guess without any", async () => {
    const disk = inMemoryDisk(512)
    await withWal(disk, small, (wal) => Effect.forEach(["a", "b"], (s) => wal.appendDurable(enc(s))))
    const image = disk.contents(superblockPath("wal"))!
    const copies = image.length / 512
    // The newest version is in one pair: damage one copy of every pair.
    for (let c = 0; c < copies; c += 2) await scribble(disk, superblockPath("wal"), c * 512 + 20, enc("rot"))
    await withWal(disk, small, (wal) => Effect.sync(() => expect(wal.recovery.lastSeq).toBe(2)))
    for (let c = 0; c < copies; c++) await scribble(disk, superblockPath("wal"), c * 512 + 20, enc("rot"))
    const exit = await Effect.runPromiseExit(
      Effect.scoped(openWal(small)).pipe(
        Effect.provide(Layer.mergeAll(Layer.succeed(Disk, disk), Layer.succeed(Clock, instantClock())))
      )
    )
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause).includes("WalSuperblockError")).toBe(true)
  })

  it("Threshold syncs once enough is unsynced, Periodic on the clock, None only when asked", async () => {
    const threshold = inMemoryDisk(512)
    await withWal(threshold, { ...small, sync: SyncStrategy.threshold({ bytes: 1 << 30, records: 5 }) }, (wal) =>
      Effect.gen(function* () {
        for (let i = 0; i < 4; i++) yield* wal.append(enc(`x${i}`))
        yield* letWriterRun
        expect(wal.durableSeq()).toBe(0)
        yield* wal.append(enc("x4"))
        yield* letWriterRun
        expect(wal.durableSeq()).toBe(5)
      })
    )
    const none = inMemoryDisk(512)
    await withWal(none, { ...small, sync: SyncStrategy.none }, (wal) =>
      Effect.gen(function* () {
        for (let i = 0; i < 7; i++) yield* wal.append(enc(`x${i}`))
        yield* letWriterRun
        expect(wal.durableSeq()).toBe(0)
        yield* wal.sync
        expect(wal.durableSeq()).toBe(7)
      })
    )
    const disk = inMemoryDisk(512)
    await withWal(disk, { ...small, sync: SyncStrategy.periodic(5) }, (wal) =>
      Effect.gen(function* () {
        const a = yield* wal.append(enc("p"))
        yield* a.durable
        expect(wal.durableSeq()).toBe(1)
      })
    )
  })

  it("backpressure: appends wait while too much is queued, and all land in order", async () => {
    const disk = inMemoryDisk(512)
    await withWal(disk, { ...small, sync: SyncStrategy.none, maxPendingBytes: 1000 }, (wal) =>
      Effect.gen(function* () {
        const appended = yield* Effect.forEach(Array.from({ length: 60 }, (_, i) => i), (i) => wal.append(enc(`b${i}`.padEnd(100, "."))), {
          concurrency: "unbounded"
        })
        expect(appended.map((a) => a.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
        yield* wal.sync
        for (const a of appended) expect(dec(yield* wal.read(a.seq)).startsWith("b")).toBe(true)
      })
    )
  })

  it("Threshold with maxDelayMs makes a lone record durable without reaching the threshold", async () => {
    const disk = inMemoryDisk(512)
    await withWal(disk, { ...small, sync: SyncStrategy.threshold({ bytes: 1 << 30, records: 1000, maxDelayMs: 5 }) }, (wal) =>
      Effect.gen(function* () {
        expect(yield* wal.appendDurable(enc("lonely"))).toBe(1)
        expect(wal.durableSeq()).toBe(1)
      })
    )
  })

  it("rejects a record larger than a segment can hold", async () => {
    const disk = inMemoryDisk(512)
    const exit = await withWal(disk, small, (wal) => Effect.exit(wal.append(new Uint8Array(20 * 1024))))
    expect(Exit.isFailure(exit)).toBe(true)
  })
})
