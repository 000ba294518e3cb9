import { nodeId, Clock, Disk, type DiskFile } from "@cairn/core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { quietCluster, runFor, startPrograms, valueOf } from "./harness.test-support.ts"

const n1 = nodeId("n1")
const n2 = nodeId("n2")
const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill)

/** Opens `path` (creating it and syncing its directory). */
const openDurably = (path: string) =>
  Effect.gen(function*() {
    const disk = yield* Disk
    const file = yield* disk.open(path, "create")
    yield* disk.syncDirectory(path.slice(0, path.lastIndexOf("/")))
    return file
  })

const readAll = (file: DiskFile) => Effect.flatMap(file.size, (size) => file.read(0, size))

describe("SimDisk", () => {
  it("a synced write survives a crash byte for byte", () => {
    const cluster = quietCluster()
    const data = bytes(10_000, 7)
    const outcomes = startPrograms(cluster, {
      n1: Effect.gen(function*() {
        const file = yield* openDurably("d/f")
        yield* file.write(0, data)
        yield* file.sync
      })
    })
    runFor(cluster, 100)
    valueOf(outcomes.n1)
    cluster.crash(n1)
    expect(cluster.disk(n1).peek("d/f")).toEqual(data)
  })

  it("an unsynced multi-sector write is lost or torn at sector boundaries by a crash", () => {
    let torn = 0
    let lost = 0
    let landed = 0
    for (let trial = 0; trial < 40; trial++) {
      const cluster = quietCluster({ seed: `torn-${trial}` })
      const outcomes = startPrograms(cluster, {
        n1: Effect.gen(function*() {
          const file = yield* openDurably("d/f")
          yield* file.write(0, bytes(4096 * 4, 1))
          yield* file.sync
          yield* file.write(0, bytes(4096 * 4, 2)) // never synced
        })
      })
      runFor(cluster, 100)
      valueOf(outcomes.n1)
      cluster.crash(n1)
      const after = cluster.disk(n1).peek("d/f")!
      expect(after.length).toBe(4096 * 4)
      const sectors = [0, 1, 2, 3].map((s) => {
        const sector = after.subarray(s * 4096, (s + 1) * 4096)
        // Each sector is wholly old or wholly new: tearing happens only at sector boundaries.
        expect(sector.every((b) => b === sector[0])).toBe(true)
        expect([1, 2]).toContain(sector[0])
        return sector[0]
      })
      if (sectors.every((b) => b === 1)) lost++
      else if (sectors.every((b) => b === 2)) landed++
      else torn++
    }
    expect(torn).toBeGreaterThan(0)
    expect(lost).toBeGreaterThan(0)
    expect(torn + lost + landed).toBe(40)
  })

  it("writes after a sync, several to one sector, never reach the synced image before the next sync", () => {
    // The disk writes a sector in place once it is dirty; this checks the synced copy stays apart.
    const synced = bytes(100, 1)
    const rewritten = bytes(100, 1)
    rewritten.fill(2, 10, 20)
    rewritten.fill(3, 30, 40)
    let lost = 0
    let landed = 0
    for (let trial = 0; trial < 30; trial++) {
      const cluster = quietCluster({ seed: `in-place-${trial}` })
      const outcomes = startPrograms(cluster, {
        n1: Effect.gen(function*() {
          const file = yield* openDurably("d/f")
          yield* file.write(0, synced)
          yield* file.sync
          yield* file.write(10, bytes(10, 2)) // never synced
          yield* file.write(30, bytes(10, 3)) // never synced, same sector
          return yield* readAll(file)
        })
      })
      runFor(cluster, 100)
      expect(valueOf(outcomes.n1)).toEqual(rewritten)
      cluster.crash(n1)
      const after = cluster.disk(n1).peek("d/f")
      if (after !== undefined && after.every((b, i) => b === synced[i])) lost++
      else {
        expect(after).toEqual(rewritten)
        landed++
      }
    }
    expect(lost).toBeGreaterThan(0)
    expect(landed).toBeGreaterThan(0)
  })

  it("a failed fsync after an in-place rewrite restores the synced bytes", () => {
    const cluster = quietCluster()
    const outcomes = startPrograms(cluster, {
      n1: Effect.gen(function*() {
        const file = yield* openDurably("d/f")
        yield* file.write(0, bytes(100, 1))
        yield* file.sync
        yield* file.write(0, bytes(50, 2))
        yield* file.write(20, bytes(10, 3))
        cluster.disk(n1).config = { ...cluster.disk(n1).config, syncFailureRate: 1 }
        yield* Effect.result(file.sync)
        return yield* readAll(file)
      })
    })
    runFor(cluster, 100)
    expect(valueOf(outcomes.n1)).toEqual(bytes(100, 1))
  })

  it("a sector synced twice and then rewritten keeps the last synced bytes apart from the rewrite", () => {
    // The second sync copies into the durable image's own sector, and the next write lands in place:
    // a failed fsync or a crash must still find the second sync's bytes, not the rewrite.
    const second = bytes(100, 2)
    second.fill(1, 50)
    for (const ending of ["failed fsync", "crash"] as const) {
      const cluster = quietCluster()
      const outcomes = startPrograms(cluster, {
        n1: Effect.gen(function*() {
          const file = yield* openDurably("d/f")
          yield* file.write(0, bytes(100, 1))
          yield* file.sync
          yield* file.write(0, bytes(50, 2))
          yield* file.sync
          yield* file.write(20, bytes(70, 3)) // never synced
          if (ending === "crash") return yield* readAll(file)
          cluster.disk(n1).config = { ...cluster.disk(n1).config, syncFailureRate: 1 }
          yield* Effect.result(file.sync)
          return yield* readAll(file)
        })
      })
      runFor(cluster, 100)
      if (ending === "failed fsync") expect(valueOf(outcomes.n1)).toEqual(second)
      else {
        cluster.crash(n1)
        const after = cluster.disk(n1).peek("d/f")!
        // The unsynced rewrite may land at the crash; the synced bytes outside it are there either way.
        expect(after.subarray(0, 20)).toEqual(second.subarray(0, 20))
        expect(after.subarray(90)).toEqual(second.subarray(90))
      }
    }
  })

  it("a file whose directory was never synced may vanish at a crash", () => {
    let vanished = 0
    for (let trial = 0; trial < 20; trial++) {
      const cluster = quietCluster({ seed: `dir-${trial}` })
      const outcomes = startPrograms(cluster, {
        n1: Effect.gen(function*() {
          const file = yield* (yield* Disk).open("d/f", "create")
          yield* file.write(0, bytes(100, 3))
          yield* file.sync
        })
      })
      runFor(cluster, 100)
      valueOf(outcomes.n1)
      cluster.crash(n1)
      if (cluster.disk(n1).peek("d/f") === undefined) vanished++
    }
    expect(vanished).toBeGreaterThan(0)
    expect(vanished).toBeLessThan(20)
  })

  it("a failed fsync loses the unsynced data and reports DiskSyncError", () => {
    const cluster = quietCluster({ disk: { syncFailureRate: 1 } })
    const outcomes = startPrograms(cluster, {
      n1: Effect.gen(function*() {
        const disk = yield* Disk
        const file = yield* disk.open("d/f", "create")
        yield* file.write(0, bytes(5000, 9))
        const sync = yield* Effect.result(file.sync)
        const after = yield* readAll(file)
        return { sync: sync._tag === "Failure" ? sync.failure._tag : "ok", after: after.length }
      })
    })
    runFor(cluster, 100)
    expect(valueOf(outcomes.n1)).toEqual({ sync: "DiskSyncError", after: 0 })
    expect(cluster.faults.count("disk.fsync-failure")).toBe(1)
  })

  it("read and write errors are typed DiskIOError and a failed write changes nothing", () => {
    const cluster = quietCluster({ disk: { writeErrorRate: 1 } })
    const outcomes = startPrograms(cluster, {
      n1: Effect.gen(function*() {
        const file = yield* (yield* Disk).open("d/f", "create")
        const write = yield* Effect.result(file.write(0, bytes(10, 1)))
        return { write: write._tag === "Failure" ? write.failure._tag : "ok", size: yield* file.size }
      })
    })
    runFor(cluster, 100)
    expect(valueOf(outcomes.n1)).toEqual({ write: "DiskIOError", size: 0 })

    const reading = quietCluster({ disk: { readErrorRate: 1 } })
    const readOutcome = startPrograms(reading, {
      n1: Effect.gen(function*() {
        const file = yield* (yield* Disk).open("d/f", "create")
        yield* file.write(0, bytes(10, 1))
        const read = yield* Effect.result(file.read(0, 10))
        return read._tag === "Failure" ? read.failure._tag : "ok"
      })
    })
    runFor(reading, 100)
    expect(valueOf(readOutcome.n1)).toBe("DiskIOError")
  })

  it("a latent sector error fails reads of that sector until it is rewritten", () => {
    const cluster = quietCluster({ disk: { latentSectorRate: 1 } })
    const outcomes = startPrograms(cluster, {
      n1: Effect.gen(function*() {
        const file = yield* (yield* Disk).open("d/f", "create")
        yield* file.write(0, bytes(4096, 1)) // plants a latent error in sector 0
        const first = yield* Effect.result(file.read(0, 4096))
        cluster.disk(n1).config = { ...cluster.disk(n1).config, latentSectorRate: 0 }
        yield* file.write(0, bytes(4096, 2))
        const second = yield* file.read(0, 4096)
        return { first: first._tag === "Failure" ? first.failure._tag : "ok", second: second[0] }
      })
    })
    runFor(cluster, 100)
    expect(valueOf(outcomes.n1)).toEqual({ first: "DiskIOError", second: 2 })
  })

  it("bit rot flips exactly one stored bit, durably", () => {
    const cluster = quietCluster({ disk: { bitRotRate: 1 } })
    const data = bytes(4096, 0)
    const outcomes = startPrograms(cluster, {
      n1: Effect.gen(function*() {
        const file = yield* openDurably("d/f")
        yield* file.write(0, data)
        yield* file.sync
        return yield* file.read(0, 4096)
      })
    })
    runFor(cluster, 100)
    const read = valueOf(outcomes.n1)
    const flipped = read.reduce((bits, b) => bits + b.toString(2).split("1").length - 1, 0)
    expect(flipped).toBe(1)
    cluster.crash(n1)
    expect(cluster.disk(n1).peek("d/f")).toEqual(read)
  })

  it("a misdirected write lands whole sectors away and leaves the target untouched", () => {
    const cluster = quietCluster({ disk: { misdirectedWriteRate: 1 } })
    const outcomes = startPrograms(cluster, {
      n1: Effect.gen(function*() {
        const file = yield* (yield* Disk).open("d/f", "create")
        yield* file.write(0, bytes(4096, 5))
      })
    })
    runFor(cluster, 100)
    valueOf(outcomes.n1)
    const image = cluster.disk(n1).peek("d/f")!
    expect(image.subarray(0, 4096).every((b) => b === 0)).toBe(true)
    const landedAt = image.findIndex((b) => b === 5)
    expect(landedAt % 4096).toBe(0)
    expect(landedAt / 4096).toBeGreaterThanOrEqual(1)
    expect(landedAt / 4096).toBeLessThanOrEqual(8)
  })

  it("a full disk refuses extending writes with DiskFullError and keeps the data intact", () => {
    const cluster = quietCluster({ disk: { capacityBytes: 8192 } })
    const outcomes = startPrograms(cluster, {
      n1: Effect.gen(function*() {
        const file = yield* (yield* Disk).open("d/f", "create")
        yield* file.write(0, bytes(8000, 1))
        const over = yield* Effect.result(file.write(8000, bytes(1000, 2)))
        const inside = yield* Effect.result(file.write(0, bytes(100, 3)))
        return { over: over._tag === "Failure" ? over.failure._tag : "ok", inside: inside._tag, size: yield* file.size }
      })
    })
    runFor(cluster, 100)
    expect(valueOf(outcomes.n1)).toEqual({ over: "DiskFullError", inside: "Success", size: 8000 })
  })

  it("rename is atomic in the current namespace and durable after the directory sync", () => {
    const cluster = quietCluster()
    const outcomes = startPrograms(cluster, {
      n1: Effect.gen(function*() {
        const disk = yield* Disk
        const tmp = yield* disk.open("s/tmp", "create")
        yield* tmp.write(0, bytes(10, 4))
        yield* tmp.sync
        yield* disk.rename("s/tmp", "s/final")
        yield* disk.syncDirectory("s")
        return yield* disk.list("s")
      })
    })
    runFor(cluster, 100)
    expect(valueOf(outcomes.n1)).toEqual(["final"])
    cluster.crash(n1)
    expect(cluster.disk(n1).peek("s/final")).toEqual(bytes(10, 4))
    expect(cluster.disk(n1).peek("s/tmp")).toBeUndefined()
  })

  describe("corruption never lands where another node's copy is damaged (seed 811)", () => {
    /** Reads sector `s` of d/f: "ok" or the error's tag. */
    const readSector = (file: DiskFile, s: number) =>
      Effect.map(Effect.result(file.read(s * 4096, 4096)), (r) => (r._tag === "Success" ? "ok" : r.failure._tag))

    /**
     * n1 writes sector 0 of d/f (with `n1Fault` on: a latent sector error or a misdirected write
     * lands there); then n2, with latent sector errors on every write, writes sectors 0 and 12 and
     * reads them back; then n1 rewrites sector 0, and n2 writes it again and reads it.
     */
    const scenario = (n1Fault: "latentSectorRate" | "misdirectedWriteRate") => {
      const cluster = quietCluster({ nodes: 2 })
      cluster.disk(n1).config = { ...cluster.disk(n1).config, [n1Fault]: 1 }
      cluster.disk(n2).config = { ...cluster.disk(n2).config, latentSectorRate: 1 }
      let seen: { readonly whileDamaged: ReadonlyArray<string>; readonly afterMend: string } | undefined
      const outcomes = startPrograms(cluster, {
        n1: Effect.gen(function*() {
          const file = yield* (yield* Disk).open("d/f", "create")
          yield* file.write(0, bytes(4096, 1))
          yield* (yield* Clock).sleep(10)
          cluster.disk(n1).config = { ...cluster.disk(n1).config, [n1Fault]: 0 }
          yield* file.write(0, bytes(4096, 2)) // mends n1's sector 0
        }),
        n2: Effect.gen(function*() {
          const clock = yield* Clock
          yield* clock.sleep(5)
          const file = yield* (yield* Disk).open("d/f", "create")
          yield* file.write(0, bytes(4096, 3))
          yield* file.write(12 * 4096, bytes(4096, 3)) // past any place n1's misdirected write can reach
          const whileDamaged = [yield* readSector(file, 0), yield* readSector(file, 12)]
          yield* clock.sleep(10)
          yield* file.write(0, bytes(4096, 4))
          seen = { whileDamaged, afterMend: yield* readSector(file, 0) }
        })
      })
      runFor(cluster, 100)
      valueOf(outcomes.n1)
      valueOf(outcomes.n2)
      if (seen === undefined) throw new Error("n2 saw nothing")
      return { n2: seen, faults: cluster.faults }
    }

    it("a latent sector error on one node keeps another's out of that sector until it is rewritten", () => {
      const { n2: seen, faults } = scenario("latentSectorRate")
      // Sector 0 is damaged on n1, so n2's fault there is withheld; sector 12 is damaged as drawn.
      expect(seen.whileDamaged).toEqual(["ok", "DiskIOError"])
      expect(faults.count("disk.latent-sector-withheld")).toBe(1)
      // Once n1 rewrote its sector 0, n2's next fault there lands.
      expect(seen.afterMend).toBe("DiskIOError")
    })

    it("a misdirected write damages the place it missed, for as long as it is not rewritten", () => {
      const { n2: seen, faults } = scenario("misdirectedWriteRate")
      expect(faults.count("disk.misdirected-write")).toBe(1)
      expect(seen.whileDamaged).toEqual(["ok", "DiskIOError"])
      expect(faults.count("disk.latent-sector-withheld")).toBe(1)
      expect(seen.afterMend).toBe("DiskIOError")
    })
  })
})
