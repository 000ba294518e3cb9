import { Clock, Disk, openWal } from "@cairn/core"
import { instantClock } from "@cairn/runtime-test"
import { Effect, Layer } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { libuvDisk } from "./libuv-disk.ts"

const roots: Array<string> = []
const fresh = () => {
  const root = mkdtempSync(join(tmpdir(), "cairn-disk-"))
  roots.push(root)
  return root
}
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

describe("libuv disk", () => {
  it("implements the Disk contract on real files", async () => {
    const root = fresh()
    const disk = libuvDisk(root)
    await Effect.runPromise(
      Effect.gen(function* () {
        const f = yield* disk.open("a/b/file", "create")
        yield* f.write(0, new Uint8Array([1, 2, 3]))
        yield* f.write(10, new Uint8Array([9]))
        yield* f.sync
        expect(yield* f.size).toBe(11)
        expect(yield* f.read(0, 100)).toEqual(new Uint8Array([1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 9]))
        yield* f.truncate(2)
        expect(yield* f.read(0, 100)).toEqual(new Uint8Array([1, 2]))
        yield* f.close
        yield* disk.syncDirectory("a/b")
        expect((yield* Effect.flip(disk.open("a/b/file", "create-new")))._tag).toBe("FileExistsError")
        expect((yield* Effect.flip(disk.open("a/b/missing", "existing")))._tag).toBe("FileNotFoundError")
        yield* disk.rename("a/b/file", "a/b/renamed")
        expect(yield* disk.list("a/b")).toEqual(["renamed"])
        expect(yield* disk.list("nowhere")).toEqual([])
        yield* disk.remove("a/b/renamed")
        expect((yield* Effect.flip(disk.remove("a/b/renamed")))._tag).toBe("FileNotFoundError")
      })
    )
  })

  it("runs the WAL: records survive a reopen and sit on disk in the documented format", async () => {
    const root = fresh()
    const layer = Layer.mergeAll(Layer.succeed(Disk, libuvDisk(root)), Layer.succeed(Clock, instantClock()))
    const text = (s: string) => new TextEncoder().encode(s)
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const wal = yield* openWal({ segmentBytes: 64 * 1024 })
          yield* Effect.forEach(["x", "yy", "zzz"], (s) => wal.appendDurable(text(s)), { concurrency: "unbounded" })
        })
      ).pipe(Effect.provide(layer))
    )
    const segment = readFileSync(join(root, "wal", "00000001.seg"))
    expect(segment.length).toBe(64 * 1024)
    expect(segment.subarray(4, 8).toString("latin1")).toBe("CWR1")
    const back = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const wal = yield* openWal()
          return yield* Effect.forEach([1, 2, 3], (s) => wal.read(s))
        })
      ).pipe(Effect.provide(layer))
    )
    expect(back.map((b) => new TextDecoder().decode(b)).sort()).toEqual(["x", "yy", "zzz"])
  })
})
