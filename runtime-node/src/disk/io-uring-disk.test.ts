import { Clock, Disk, openWal } from "@cairn/core"
import { instantClock } from "@cairn/runtime-test"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { ioUringDisk, loadIoUringBinding, makeNodeDisk, type IoUringDisk } from "./io-uring-disk.ts"

const roots: Array<string> = []
const disks: Array<IoUringDisk> = []
const fresh = () => {
  const root = mkdtempSync(join(tmpdir(), "cairn-uring-"))
  roots.push(root)
  return root
}
const uringDisk = (root: string) => {
  const d = ioUringDisk(root)
  disks.push(d)
  return d
}
afterEach(() => {
  for (const d of disks.splice(0)) d.shutdown()
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

/** Why io_uring cannot be used here, or undefined if it can. */
const unavailable = ((): string | undefined => {
  const binding = loadIoUringBinding()
  if (binding instanceof Error) return binding.message
  try {
    ioUringDisk(mkdtempSync(join(tmpdir(), "cairn-probe-"))).shutdown()
    return undefined
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  }
})()
if (unavailable !== undefined) console.warn(`io_uring disk tests skipped: ${unavailable}`)
const itUring = unavailable === undefined ? it : it.skip

const bytes = (...xs: Array<number>) => new Uint8Array(xs)

describe("io_uring disk", () => {
  itUring("implements the Disk contract on real files", async () => {
    const root = fresh()
    const disk = uringDisk(root)
    await Effect.runPromise(
      Effect.gen(function*() {
        const f = yield* disk.open("a/b/file", "create")
        yield* f.write(0, bytes(1, 2, 3))
        yield* f.write(10, bytes(9))
        yield* f.sync
        expect(yield* f.size).toBe(11)
        expect(yield* f.read(0, 100)).toEqual(bytes(1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 9))
        expect(yield* f.read(11, 5)).toEqual(bytes())
        yield* f.truncate(2)
        expect(yield* f.size).toBe(2)
        expect(yield* f.read(0, 100)).toEqual(bytes(1, 2))
        yield* f.close
        expect((yield* Effect.flip(f.write(0, bytes(1))))._tag).toBe("DiskIOError")
        yield* disk.syncDirectory("a/b")
        yield* disk.syncDirectory("never/created")
        expect((yield* Effect.flip(disk.open("a/b/file", "create-new")))._tag).toBe("FileExistsError")
        expect((yield* Effect.flip(disk.open("a/b/missing", "existing")))._tag).toBe("FileNotFoundError")
        expect((yield* Effect.flip(disk.open("nowhere/missing", "existing")))._tag).toBe("FileNotFoundError")
        yield* disk.rename("a/b/file", "c/renamed")
        expect(yield* disk.list("a/b")).toEqual([])
        expect(yield* disk.list("c")).toEqual(["renamed"])
        expect(yield* disk.list("")).toEqual([]) // directories are not files
        expect(yield* disk.list("nowhere")).toEqual([])
        expect((yield* Effect.flip(disk.rename("a/b/file", "x")))._tag).toBe("FileNotFoundError")
        const again = yield* disk.open("c/renamed", "existing")
        expect(yield* again.read(0, 10)).toEqual(bytes(1, 2))
        yield* again.close
        yield* disk.remove("c/renamed")
        expect((yield* Effect.flip(disk.remove("c/renamed")))._tag).toBe("FileNotFoundError")
      })
    )
    expect(disk.stats.sqes).toBeGreaterThan(0)
    expect(disk.stats.completions).toBe(disk.stats.sqes)
  })

  itUring("reads and writes many buffers concurrently and reads back exactly what was written", async () => {
    const root = fresh()
    const disk = uringDisk(root)
    const block = (i: number) => new Uint8Array(4096 + (i % 7)).fill(i & 0xff)
    await Effect.runPromise(
      Effect.gen(function*() {
        const f = yield* disk.open("big", "create-new")
        // 600 writes: more than the ring holds (256), so some wait in the queue.
        yield* Effect.forEach(Array.from({ length: 600 }, (_, i) => i), (i) => f.write(i * 8192, block(i)), {
          concurrency: "unbounded"
        })
        yield* f.sync
        const back = yield* Effect.forEach(Array.from({ length: 600 }, (_, i) => i), (i) => f.read(i * 8192, block(i).length), {
          concurrency: "unbounded"
        })
        const wrong = back.filter((b, i) => !Buffer.from(b).equals(Buffer.from(block(i)))).length
        expect(wrong).toBe(0)
        yield* f.close
      })
    )
    const onDisk = readFileSync(join(root, "big"))
    expect(onDisk.subarray(599 * 8192, 599 * 8192 + 4096)).toEqual(Buffer.from(block(599).subarray(0, 4096)))
  })

  itUring("links writes that are still waiting for submission in front of a sync (one chain, write before fsync)", async () => {
    const root = fresh()
    const disk = uringDisk(root)
    await Effect.runPromise(
      Effect.gen(function*() {
        const f = yield* disk.open("wal", "create")
        const before = disk.stats.linkedChains
        // Both are issued in the same turn: the sync must run after the writes.
        yield* Effect.all([f.write(0, bytes(1, 2, 3, 4)), f.write(4, bytes(5, 6)), f.sync], { concurrency: "unbounded" })
        expect(disk.stats.linkedChains).toBe(before + 1)
        expect(yield* f.read(0, 10)).toEqual(bytes(1, 2, 3, 4, 5, 6))
        yield* f.close
      })
    )
  })

  itUring("maps ENOSPC to DiskFullError and a failed fsync to DiskSyncError (/dev/full)", async () => {
    if (!existsSync("/dev/full")) return
    const disk = uringDisk("/dev")
    await Effect.runPromise(
      Effect.gen(function*() {
        const f = yield* disk.open("full", "existing")
        const err = yield* Effect.flip(f.write(0, bytes(1, 2, 3)))
        expect(err._tag).toBe("DiskFullError")
        expect(err.message).toContain("ENOSPC")
        // Nothing landed, so the sync must not report success (here the device also rejects fsync).
        expect((yield* Effect.flip(f.sync))._tag).toBe("DiskSyncError")
        yield* f.close
      })
    )
  })

  itUring("runs the WAL: concurrent durable appends survive a reopen", async () => {
    const root = fresh()
    const text = (s: string) => new TextEncoder().encode(s)
    const layer = () => Layer.mergeAll(Layer.succeed(Disk, uringDisk(root)), Layer.succeed(Clock, instantClock()))
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const wal = yield* openWal({ segmentBytes: 64 * 1024 })
          yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => `rec-${i}`), (s) => wal.appendDurable(text(s)), {
            concurrency: "unbounded"
          })
        })
      ).pipe(Effect.provide(layer()))
    )
    const read = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const wal = yield* openWal({ segmentBytes: 64 * 1024 })
          const out: Array<string> = []
          for (let s = wal.firstSeq(); s <= wal.lastSeq(); s++) out.push(new TextDecoder().decode(yield* wal.read(s)))
          return out
        })
      ).pipe(Effect.provide(layer()))
    )
    expect(read.length).toBe(200)
    expect(new Set(read)).toEqual(new Set(Array.from({ length: 200 }, (_, i) => `rec-${i}`)))
  })

  itUring("shares one fsync among concurrent syncs of a file, and each sync still covers its own write", async () => {
    const root = fresh()
    const disk = uringDisk(root)
    const n = 64
    await Effect.runPromise(
      Effect.gen(function*() {
        const f = yield* disk.open("log", "create")
        yield* f.write(0, new Uint8Array(n * 16))
        yield* f.sync
        const before = disk.stats.fsyncs
        yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => i),
          (i) => Effect.andThen(f.write(i * 16, new Uint8Array(16).fill(i + 1)), f.sync),
          { concurrency: "unbounded" }
        )
        const fsyncs = disk.stats.fsyncs - before
        expect(fsyncs).toBeGreaterThan(0)
        expect(fsyncs).toBeLessThan(n)
        yield* f.close
      })
    )
    const onDisk = readFileSync(join(root, "log"))
    for (let i = 0; i < n; i++) expect(onDisk[i * 16]).toBe(i + 1)
  })

  it("falls back to libuv when io_uring_setup fails, and says why", () => {
    // io_uring_setup(0 entries) fails with EINVAL: a real setup failure, like ENOSYS or EPERM under seccomp.
    const broken = makeNodeDisk(fresh(), "auto", { entries: 0 })
    expect(broken.backend).toBe("libuv")
    expect(broken.reason).toMatch(unavailable === undefined ? /io_uring_setup: Invalid argument/ : /./)
    expect(() => makeNodeDisk(fresh(), "io_uring", { entries: 0 })).toThrow()
  })

  it("makeNodeDisk falls back to libuv when asked, and picks io_uring where it works", () => {
    const forced = makeNodeDisk(fresh(), "libuv")
    expect(forced.backend).toBe("libuv")
    const auto = makeNodeDisk(fresh(), "auto")
    expect(auto.backend).toBe(unavailable === undefined ? "io_uring" : "libuv")
    auto.shutdown()
  })
})

/** `strace -f -c` of a child writing 64 blocks and syncing: syscall name → calls. */
const straceCounts = (backend: "io_uring" | "libuv"): Map<string, number> => {
  const out = join(fresh(), "strace.txt")
  const child = spawnSync(
    "strace",
    ["-f", "-c", "-o", out, process.execPath, join(import.meta.dirname, "fixtures", "disk-writes.ts"), fresh(), backend],
    { encoding: "utf8", timeout: 60_000 }
  )
  expect(child.status, child.stderr).toBe(0)
  expect(child.stdout).toContain(`backend=${backend}`)
  const counts = new Map<string, number>()
  for (const line of readFileSync(out, "utf8").split("\n")) {
    const cols = line.trim().split(/\s+/)
    const name = cols[cols.length - 1]
    const calls = Number(cols[3])
    if (cols.length >= 5 && name !== undefined && /^\d+$/.test(cols[3] ?? "")) counts.set(name, calls)
  }
  return counts
}

const straceMissing = spawnSync("strace", ["-V"]).error !== undefined
const straceBlocked = !straceMissing && spawnSync("strace", ["-f", "-o", "/dev/null", "true"]).status !== 0
const straceSkip = unavailable ?? (straceMissing ? "strace not installed" : straceBlocked ? "ptrace not permitted" : undefined)
if (straceSkip !== undefined) console.warn(`strace test skipped: ${straceSkip}`)

describe.skipIf(straceSkip !== undefined)("io_uring disk under strace", () => {
  it("writes through io_uring_enter and never calls pwrite64; the libuv fallback does call pwrite64", () => {
    const uring = straceCounts("io_uring")
    expect(uring.get("io_uring_enter") ?? 0).toBeGreaterThan(0)
    expect(uring.get("pwrite64") ?? 0).toBe(0)
    expect(uring.get("fdatasync") ?? 0).toBe(0)
    // The same count on the fallback shows the check can fail.
    const libuv = straceCounts("libuv")
    expect(libuv.get("pwrite64") ?? 0).toBeGreaterThanOrEqual(64)
  })
})
