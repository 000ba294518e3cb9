/**
 * The partition log over the in-memory disk: appends and reads by offset,
 * segment rolls by size and time, index files trusted or rebuilt, retention,
 * recovery from a torn tail and from damage, and the failure policy
 * (fail-stop on a failed fsync, a full disk failing one append only).
 */
import { Clock, Disk, DiskFullError, DiskSyncError, type DiskShape } from "@cairn/core"
import { encodeBatch, Field, type BatchInput } from "@cairn/core/log/record-batch"
import { openPartitionLog, type PartitionLog, type PartitionLogConfig } from "@cairn/core/log/partition-log"
import { indexPath, logPath, timeIndexPath } from "@cairn/core/log/segment"
import { Cause, Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { inMemoryDisk, instantClock, type InMemoryDisk, type InstantClock } from "../index.ts"

const DIR = "log/orders-0"

const run = <A, E>(disk: DiskShape, clock: InstantClock, config: PartitionLogConfig, body: (log: PartitionLog) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.flatMap(openPartitionLog(config), (log) => Effect.ensuring(body(log), log.close)).pipe(
      Effect.provide(Layer.mergeAll(Layer.succeed(Disk, disk), Layer.succeed(Clock, clock)))
    )
  )

const runExit = <A, E>(disk: DiskShape, clock: InstantClock, config: PartitionLogConfig, body: (log: PartitionLog) => Effect.Effect<A, E>) =>
  Effect.runPromiseExit(
    Effect.flatMap(openPartitionLog(config), body).pipe(Effect.provide(Layer.mergeAll(Layer.succeed(Disk, disk), Layer.succeed(Clock, clock))))
  )

/** A batch of `records` records of `valueBytes` bytes each, its values tagged `tag`. */
const batch = (tag: number, records = 1, valueBytes = 20, timestamp = 1_000 + tag, extra: Partial<BatchInput> = {}) =>
  encodeBatch({
    baseTimestamp: timestamp,
    records: Array.from({ length: records }, (_, i) => ({
      attributes: 0, timestampDelta: 0, offsetDelta: i, key: null, value: new Uint8Array(valueBytes).fill((tag + i) & 0xff), headers: []
    })),
    ...extra
  })

/** `stored` is `sent` given base offset `offset`: the same bytes but the first eight. */
const expectStoredAs = (stored: Uint8Array, sent: Uint8Array, offset: number) => {
  expect(stored.length).toBe(sent.length)
  expect(Array.from(stored.subarray(Field.batchLength))).toEqual(Array.from(sent.subarray(Field.batchLength)))
  expect(new DataView(stored.buffer, stored.byteOffset).getBigInt64(0)).toBe(BigInt(offset))
}

const scribble = (disk: InMemoryDisk, path: string, offset: number, bytes: Uint8Array) =>
  Effect.runPromise(Effect.flatMap(disk.open(path, "existing"), (f) => f.write(offset, bytes)))
const cut = (disk: InMemoryDisk, path: string, size: number) =>
  Effect.runPromise(Effect.flatMap(disk.open(path, "existing"), (f) => f.truncate(size)))

const failure = <A, E>(exit: Exit.Exit<A, E>): unknown => (Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined)

describe("partition log on a fault-free disk", () => {
  it("assigns offsets, stores batches as received and reads them back, also after a reopen", async () => {
    const disk = inMemoryDisk(512)
    const clock = instantClock()
    const sent = [batch(1, 3), batch(2, 1), batch(3, 5)]
    const appended = await run(disk, clock, { dir: DIR }, (log) =>
      Effect.gen(function* () {
        const out = yield* Effect.forEach(sent, log.append)
        expect(log.durableEndOffset()).toBe(0)
        yield* log.sync
        expect(log.durableEndOffset()).toBe(9)
        return out
      })
    )
    expect(appended).toEqual([{ baseOffset: 0, lastOffset: 2 }, { baseOffset: 3, lastOffset: 3 }, { baseOffset: 4, lastOffset: 8 }])
    await run(disk, clock, { dir: DIR }, (log) =>
      Effect.gen(function* () {
        expect(log.recovery).toMatchObject({ logStartOffset: 0, logEndOffset: 9, truncated: undefined, damaged: [] })
        const all = yield* log.read(0, 1 << 20)
        expect(all.nextOffset).toBe(9)
        all.batches.forEach((b, i) => expectStoredAs(b, sent[i]!, appended[i]!.baseOffset))
        // An offset inside a batch returns that whole batch first.
        const mid = yield* log.read(5, 1 << 20)
        expect(mid.batches.length).toBe(1)
        expectStoredAs(mid.batches[0]!, sent[2]!, 4)
      })
    )
  })

  it("reads honour the byte limit but always return one batch; the end reads empty; outside the log is a typed error", async () => {
    const disk = inMemoryDisk(512)
    await run(disk, instantClock(), { dir: DIR }, (log) =>
      Effect.gen(function* () {
        for (let i = 0; i < 10; i++) yield* log.append(batch(i, 1, 100))
        const size = batch(0, 1, 100).length
        expect((yield* log.read(0, 3 * size)).batches.length).toBe(3)
        expect((yield* log.read(0, 3 * size - 1)).batches.length).toBe(2)
        expect((yield* log.read(4, 0)).batches.length).toBe(1)
        const tiny = yield* log.read(4, 1)
        expect(tiny).toMatchObject({ nextOffset: 5 })
        expect(tiny.batches.length).toBe(1)
        expect(yield* log.read(10, 100)).toEqual({ batches: [], nextOffset: 10 })
        const past = yield* Effect.flip(log.read(11, 100))
        expect(past).toMatchObject({ _tag: "LogOffsetOutOfRangeError", offset: 11, logStartOffset: 0, logEndOffset: 10 })
      })
    )
  })

  it("refuses a damaged or oversized batch with a typed error and stores nothing", async () => {
    const disk = inMemoryDisk(512)
    await run(disk, instantClock(), { dir: DIR, maxBatchBytes: 500, maxSegmentBytes: 4096 }, (log) =>
      Effect.gen(function* () {
        const damaged = batch(1)
        damaged[damaged.length - 1] = damaged[damaged.length - 1]! ^ 1
        expect(yield* Effect.flip(log.append(damaged))).toMatchObject({ _tag: "BatchFormatError", fault: "checksum" })
        expect(yield* Effect.flip(log.append(batch(2, 1, 600)))).toMatchObject({ _tag: "LogBatchTooLargeError", maxBytes: 500 })
        expect(yield* Effect.flip(log.append(new Uint8Array(10)))).toMatchObject({ _tag: "BatchFormatError", fault: "truncated" })
        expect(log.logEndOffset()).toBe(0)
        expect(yield* log.append(batch(3))).toEqual({ baseOffset: 0, lastOffset: 0 })
      })
    )
  })

  it("limits are asserted when the log is opened", async () => {
    const exit = await runExit(inMemoryDisk(512), instantClock(), { dir: DIR, maxBatchBytes: 8192, maxSegmentBytes: 4096 }, () => Effect.void)
    expect(String(failure(exit))).toMatch(/maxSegmentBytes below maxBatchBytes/)
  })

  it("rolls by size, seals segments with index files the next open trusts, and rebuilds missing or damaged ones", async () => {
    const disk = inMemoryDisk(512)
    const clock = instantClock()
    const config = { dir: DIR, maxSegmentBytes: 1024, indexIntervalBytes: 200 }
    const sent = Array.from({ length: 30 }, (_, i) => batch(i, 1 + (i % 3), 50))
    await run(disk, clock, config, (log) => Effect.andThen(Effect.forEach(sent, log.append), log.sync))
    const segments = await run(disk, clock, config, (log) => Effect.sync(() => log.segments()))
    expect(segments.length).toBeGreaterThan(3)
    for (const s of segments) expect(s.size).toBeLessThanOrEqual(1024)
    segments.slice(1).forEach((s, i) => expect(s.baseOffset).toBe(segments[i]!.nextOffset))
    expect(disk.contents(indexPath(DIR, segments[0]!.baseOffset))).toBeDefined()
    expect(disk.contents(timeIndexPath(DIR, segments[1]!.baseOffset))).toBeDefined()
    // The active segment has no index files: its indexes live in memory.
    expect(disk.contents(indexPath(DIR, segments.at(-1)!.baseOffset))).toBeUndefined()
    const readAll = (log: PartitionLog) =>
      Effect.gen(function* () {
        const out: Array<Uint8Array> = []
        let offset = log.logStartOffset()
        while (offset < log.logEndOffset()) {
          const r = yield* log.read(offset, 300)
          out.push(...r.batches)
          offset = r.nextOffset
        }
        return out
      })
    const before = await run(disk, clock, config, (log) => Effect.sync(() => expect(log.recovery.rebuiltIndexes).toEqual([])).pipe(Effect.andThen(readAll(log))))
    expect(before.length).toBe(30)
    await Effect.runPromise(disk.remove(indexPath(DIR, segments[0]!.baseOffset)))
    await scribble(disk, timeIndexPath(DIR, segments[1]!.baseOffset), 40, new Uint8Array([9, 9, 9]))
    const after = await run(disk, clock, config, (log) =>
      Effect.sync(() => expect(log.recovery.rebuiltIndexes).toEqual([segments[0]!.baseOffset, segments[1]!.baseOffset])).pipe(Effect.andThen(readAll(log)))
    )
    expect(after).toEqual(before)
    // Rebuilt files are written back, so the next open trusts them again.
    await run(disk, clock, config, (log) => Effect.sync(() => expect(log.recovery.rebuiltIndexes).toEqual([])))
  })

  it("rolls by time measured on the node's clock from the segment's first append", async () => {
    const disk = inMemoryDisk(512)
    const clock = instantClock()
    await run(disk, clock, { dir: DIR, segmentMs: 60_000 }, (log) =>
      Effect.gen(function* () {
        yield* log.append(batch(1, 1, 10, 0))
        clock.advance(59_999)
        yield* log.append(batch(2, 1, 10, 0))
        expect(log.segments().length).toBe(1)
        clock.advance(1)
        yield* log.append(batch(3, 1, 10, 0))
        expect(log.segments().map((s) => s.baseOffset)).toEqual([0, 2])
      })
    )
  })

  it("finds the first batch at or after a timestamp through the time index", async () => {
    const disk = inMemoryDisk(512)
    await run(disk, instantClock(), { dir: DIR, maxSegmentBytes: 600, indexIntervalBytes: 100 }, (log) =>
      Effect.gen(function* () {
        const stamps = [100, 150, 120, 300, 310, 305, 500, 800, 900, 950]
        for (const [i, t] of stamps.entries()) yield* log.append(batch(i, 1, 40, t))
        expect(log.segments().length).toBeGreaterThan(1)
        expect(yield* log.offsetForTimestamp(0)).toBe(0)
        expect(yield* log.offsetForTimestamp(121)).toBe(1)
        expect(yield* log.offsetForTimestamp(301)).toBe(4)
        expect(yield* log.offsetForTimestamp(501)).toBe(7)
        expect(yield* log.offsetForTimestamp(951)).toBeUndefined()
      })
    )
  })

  it("retention deletes whole oldest segments by bytes and by time, moves the log start, and the deletion survives a reopen", async () => {
    const disk = inMemoryDisk(512)
    const clock = instantClock(0, 0)
    const config = { dir: DIR, maxSegmentBytes: 400, retention: { retentionBytes: 700 } }
    const first = await run(disk, clock, config, (log) =>
      Effect.gen(function* () {
        for (let i = 0; i < 20; i++) yield* log.append(batch(i, 1, 40, i * 1000))
        const segs = log.segments()
        const deleted = yield* log.enforceRetention
        expect(deleted.length).toBeGreaterThan(0)
        expect(deleted).toEqual(segs.slice(0, deleted.length).map((s) => s.baseOffset))
        const left = log.segments()
        expect(left.reduce((n, s) => n + s.size, 0)).toBeGreaterThanOrEqual(700)
        expect(left.slice(1).reduce((n, s) => n + s.size, 0)).toBeLessThan(700)
        expect(log.logStartOffset()).toBe(left[0]!.baseOffset)
        expect(yield* Effect.flip(log.read(0, 100))).toMatchObject({ _tag: "LogOffsetOutOfRangeError" })
        for (const b of deleted) expect(disk.contents(logPath(DIR, b))).toBeUndefined()
        return log.logStartOffset()
      })
    )
    await run(disk, clock, { ...config, retention: { retentionMs: 10_000 } }, (log) =>
      Effect.gen(function* () {
        expect(log.logStartOffset()).toBe(first)
        clock.advance(100_000)
        yield* log.enforceRetention
        // Every sealed segment is older than 10 s now; the active one stays.
        expect(log.segments().length).toBe(1)
        expect(log.logStartOffset()).toBe(log.segments()[0]!.baseOffset)
        expect(log.logEndOffset()).toBe(20)
      })
    )
  })

  it("retention read at each check: a policy changed while the log is open applies at the next check", async () => {
    const disk = inMemoryDisk(512)
    const clock = instantClock(0, 0)
    let policy: { readonly retentionBytes?: number } = {}
    await run(disk, clock, { dir: DIR, maxSegmentBytes: 400, retention: () => policy }, (log) =>
      Effect.gen(function* () {
        for (let i = 0; i < 20; i++) yield* log.append(batch(i, 1, 40, i * 1000))
        // No limit yet: nothing goes.
        expect(yield* log.enforceRetention).toEqual([])
        expect(log.logStartOffset()).toBe(0)
        policy = { retentionBytes: 700 }
        const deleted = yield* log.enforceRetention
        expect(deleted.length).toBeGreaterThan(0)
        expect(log.segments().slice(1).reduce((n, s) => n + s.size, 0)).toBeLessThan(700)
        expect(log.logStartOffset()).toBeGreaterThan(0)
      })
    )
  })
})

describe("partition log recovery", () => {
  it("cuts a torn tail at the last intact batch, syncs the cut, and appends on from there", async () => {
    const disk = inMemoryDisk(512)
    const clock = instantClock()
    const sent = [batch(1, 2), batch(2, 2), batch(3, 2)]
    await run(disk, clock, { dir: DIR }, (log) => Effect.andThen(Effect.forEach(sent, log.append), log.sync))
    const path = logPath(DIR, 0)
    const whole = disk.contents(path)!.length
    await cut(disk, path, whole - 7)
    await run(disk, clock, { dir: DIR }, (log) =>
      Effect.gen(function* () {
        expect(log.recovery.truncated).toMatchObject({ segment: 0, position: whole - sent[2]!.length })
        expect(log.logEndOffset()).toBe(4)
        expect(disk.contents(path)!.length).toBe(whole - sent[2]!.length)
        expect(yield* log.append(batch(9, 1))).toEqual({ baseOffset: 4, lastOffset: 4 })
      })
    )
    // Garbage after the last batch (a stale write that landed) is cut too.
    await scribble(disk, path, disk.contents(path)!.length, new Uint8Array(100).fill(7))
    await run(disk, clock, { dir: DIR }, (log) =>
      Effect.gen(function* () {
        expect(log.recovery.truncated?.bytes).toBe(100)
        expect(log.logEndOffset()).toBe(5)
      })
    )
  })

  it("damage in a sealed segment is never served: reads that reach it fail typed, the rest reads fine", async () => {
    const disk = inMemoryDisk(512)
    const clock = instantClock()
    const config = { dir: DIR, maxSegmentBytes: 500 }
    await run(disk, clock, config, (log) => Effect.andThen(Effect.forEach(Array.from({ length: 12 }, (_, i) => batch(i, 1, 60)), log.append), log.sync))
    const size = batch(0, 1, 60).length
    // Rot in the second batch of the first (sealed) segment.
    await scribble(disk, logPath(DIR, 0), size + 70, new Uint8Array([0xee]))
    await run(disk, clock, config, (log) =>
      Effect.gen(function* () {
        expect(yield* Effect.flip(log.read(1, 1 << 20))).toMatchObject({ _tag: "LogCorruptBatchError", segment: 0, position: size })
        expect((yield* log.read(0, 1)).batches.length).toBe(1)
        expect((yield* log.read(log.segments()[1]!.baseOffset, 1 << 20)).batches.length).toBeGreaterThan(0)
      })
    )
    // Without its index files the segment is scanned at open, and the damage is reported there.
    await Effect.runPromise(disk.remove(indexPath(DIR, 0)))
    await run(disk, clock, config, (log) =>
      Effect.gen(function* () {
        expect(log.recovery.damaged).toMatchObject([{ segment: 0, position: size }])
        expect(yield* Effect.flip(log.read(1, 1 << 20))).toMatchObject({ _tag: "LogCorruptBatchError" })
        expect(log.logEndOffset()).toBe(12)
      })
    )
  })
})

describe("partition log failure policy", () => {
  /** The in-memory disk with switches: fsyncs fail, or writes find the disk full. */
  const faulty = (base: InMemoryDisk) => {
    const switches = { syncFails: false, full: false }
    const disk: DiskShape = {
      ...base,
      open: (path, mode) =>
        Effect.map(base.open(path, mode), (f) => ({
          ...f,
          sync: Effect.suspend(() => (switches.syncFails ? Effect.fail(new DiskSyncError({ path, message: "injected" })) : f.sync)),
          write: (offset: number, data: Uint8Array) =>
            Effect.suspend(() => (switches.full ? Effect.fail(new DiskFullError({ path, message: "injected" })) : f.write(offset, data)))
        }))
    }
    return { disk, switches }
  }

  it("a failed fsync stops the log: the sync and every later append fail with it; a reopen recovers", async () => {
    const base = inMemoryDisk(512)
    const { disk, switches } = faulty(base)
    const clock = instantClock()
    await run(disk, clock, { dir: DIR }, (log) =>
      Effect.gen(function* () {
        yield* log.append(batch(1))
        yield* log.sync
        yield* log.append(batch(2))
        switches.syncFails = true
        expect(yield* Effect.flip(log.sync)).toMatchObject({ _tag: "LogFailedError", op: "sync" })
        switches.syncFails = false
        expect(yield* Effect.flip(log.append(batch(3)))).toMatchObject({ _tag: "LogFailedError", op: "sync" })
        expect(log.durableEndOffset()).toBe(1)
      })
    )
    await run(disk, clock, { dir: DIR }, (log) => Effect.sync(() => expect(log.logEndOffset()).toBeGreaterThanOrEqual(1)))
  })

  it("a full disk fails only the append that did not fit", async () => {
    const { disk, switches } = faulty(inMemoryDisk(512))
    await run(disk, instantClock(), { dir: DIR }, (log) =>
      Effect.gen(function* () {
        yield* log.append(batch(1))
        switches.full = true
        expect(yield* Effect.flip(log.append(batch(2)))).toMatchObject({ _tag: "LogDiskFullError" })
        switches.full = false
        expect(yield* log.append(batch(3))).toEqual({ baseOffset: 1, lastOffset: 1 })
        yield* log.sync
        expect((yield* log.read(0, 1 << 20)).batches.length).toBe(2)
      })
    )
  })
})
