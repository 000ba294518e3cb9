/**
 * The WAL on the simulated disk: random operation sequences with random
 * crash points (a property), and every disk fault kind of the simulator
 * exercised with its outcome asserted.
 */
import { Clock, nodeId } from "@cairn/core"
import { seededSource, type SeededSource } from "@cairn/runtime-test"
import { faultFreeCluster, type NodeServices, type SimCluster } from "../cluster.ts"
import { Cause, Effect, Exit } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { SyncStrategy } from "@cairn/core/wal/sync-strategy"
import { openWal, type Wal, type WalConfig } from "@cairn/core/wal/wal"

const n1 = nodeId("n1")
const MS = 1_000_000

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

const payloadFor = (rng: SeededSource, tag: number): Uint8Array => {
  const size = rng.chance(0.1) ? rng.intBetween(3000, 9000) : rng.intBetween(0, 300)
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = (tag * 31 + i * 7 + rng.intBetween(0, 3)) & 0xff
  return out
}

/** What the test knows the log must be: every payload ever written at a seq, and what was acknowledged. */
class Model {
  readonly contents = new Map<number, Uint8Array>()
  /** Every seq up to here was acknowledged durable (and not truncated since). */
  acked = 0
  firstLow = 1
  firstHigh = 1
  readonly problems: Array<string> = []
  recoveries = 0
  /** With media faults on, damage may be reported and reads may fail typed; wrong bytes and lost acks still may not. */
  lenient = false
  damageReported = 0
  readsRefused = 0
  /** Recoveries that cut written but unacknowledged records. */
  tornTailsCut = 0
  /** Unacknowledged records found intact past the durable end and kept. */
  tailRecordsKept = 0

  problem(message: string) {
    this.problems.push(message)
  }

  /** Checks a freshly recovered log against the model, then adopts it. */
  checkRecovered(wal: Wal): Effect.Effect<void> {
    const model = this
    return Effect.gen(function* () {
      const r = wal.recovery
      model.recoveries++
      if (r.damaged.length > 0 && !model.lenient) model.problem(`damage reported on a disk that only crashes: ${JSON.stringify(r.damaged)}`)
      model.damageReported += r.damaged.length
      if (r.firstSeq < model.firstLow || r.firstSeq > model.firstHigh) {
        model.problem(`first seq ${r.firstSeq} outside [${model.firstLow}, ${model.firstHigh}]`)
      }
      if (r.lastSeq < model.acked) model.problem(`lost acknowledged records: recovered up to ${r.lastSeq}, acknowledged ${model.acked}`)
      for (let seq = r.firstSeq; seq <= r.lastSeq; seq++) {
        const want = model.contents.get(seq)
        const got = yield* Effect.result(wal.read(seq))
        if (want === undefined) model.problem(`recovered seq ${seq} that was never written`)
        else if (got._tag === "Failure" && model.lenient && got.failure._tag !== "WalOutOfRangeError") model.readsRefused++
        else if (got._tag === "Failure") model.problem(`read ${seq} failed: ${got.failure._tag}`)
        else if (!sameBytes(got.success, want)) model.problem(`seq ${seq} returned other bytes than written`)
      }
      if ([...model.contents.keys()].some((seq) => seq > r.lastSeq)) model.tornTailsCut++
      model.tailRecordsKept += r.tailRecords
      for (const seq of [...model.contents.keys()]) if (seq > r.lastSeq) model.contents.delete(seq)
      if (model.contents.has(r.lastSeq + 1)) model.problem("model kept a record past the end")
      model.acked = r.lastSeq
      model.firstLow = model.firstHigh = r.firstSeq
    })
  }
}

const services = (cluster: SimCluster, program: (incarnation: number) => Effect.Effect<void, unknown, NodeServices | import("effect").Scope.Scope>, model: Model) =>
  cluster.start(({ incarnation }) =>
    Effect.scoped(program(incarnation)).pipe(
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.sync(() => model.problem(`program failed: ${Cause.pretty(cause)}`))
      )
    )
  )

/** A random workload of one incarnation: concurrent appenders, truncations, reads and syncs. */
const workload = (wal: Wal, model: Model, rng: SeededSource, ops: number, needsNudge: boolean): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let op = 0; op < ops; op++) {
      const roll = rng.float()
      if (roll < 0.7) {
        const count = rng.intBetween(1, 12)
        const waitDurable = rng.chance(0.7)
        const payloads = Array.from({ length: count }, (_, i) => payloadFor(rng, op * 100 + i))
        const appended = yield* Effect.forEach(payloads, (payload) =>
          Effect.tap(Effect.orDie(wal.append(payload)), (a) => Effect.sync(() => model.contents.set(a.seq, payload)))
        )
        if (!waitDurable) continue
        // Strategies that do not sync on their own need a nudge, as their users would give.
        if (needsNudge) yield* Effect.forkChild(Effect.ignore(wal.sync))
        yield* Effect.forEach(
          appended,
          (a) =>
            Effect.gen(function* () {
              const d = yield* Effect.result(a.durable)
              if (d._tag === "Failure") return model.problem(`durable failed on a fault-free disk: ${d.failure._tag}`)
              if (wal.firstSeq() <= a.seq) model.acked = Math.max(model.acked, a.seq)
            }),
          { concurrency: "unbounded", discard: true }
        )
      } else if (roll < 0.78) {
        const last = wal.lastSeq()
        const from = rng.intBetween(Math.max(wal.firstSeq(), last - 5), last + 1)
        model.acked = Math.min(model.acked, from - 1)
        yield* Effect.orDie(wal.truncateSuffix(from))
        for (const seq of [...model.contents.keys()]) if (seq >= from) model.contents.delete(seq)
      } else if (roll < 0.83) {
        const seq = rng.intBetween(wal.firstSeq(), wal.lastSeq() + (rng.chance(0.2) ? 5 : 1))
        model.firstHigh = Math.max(model.firstHigh, seq)
        yield* Effect.orDie(wal.truncatePrefix(seq))
        model.firstLow = Math.max(model.firstLow, seq)
        if (seq - 1 > model.acked) model.acked = seq - 1
      } else if (roll < 0.93) {
        if (wal.lastSeq() < wal.firstSeq()) continue
        const seq = rng.intBetween(wal.firstSeq(), wal.lastSeq())
        const got = yield* Effect.result(wal.read(seq))
        const want = model.contents.get(seq)
        if (got._tag === "Failure" && model.lenient && got.failure._tag !== "WalOutOfRangeError") model.readsRefused++
        else if (got._tag === "Failure") model.problem(`read ${seq} failed: ${got.failure._tag}`)
        else if (want === undefined || !sameBytes(got.success, want)) model.problem(`read ${seq}: other bytes than written`)
      } else {
        const target = wal.lastSeq()
        const s = yield* Effect.result(wal.sync)
        if (s._tag === "Failure") model.problem(`sync failed: ${s.failure._tag}`)
        else model.acked = Math.max(model.acked, target)
      }
    }
  })

const strategies = [
  SyncStrategy.always,
  SyncStrategy.threshold({ bytes: 20_000, records: 8 }),
  SyncStrategy.periodic(2),
  SyncStrategy.none
] as const

const simConfig = (sync: (typeof strategies)[number]): WalConfig => ({ segmentBytes: 64 * 1024, sync })

describe("wal on the simulated disk: crashes at random points", () => {
  it("after every recovery the log is a prefix of what was written and holds every acknowledged record", () => {
    const totals = { cut: 0, kept: 0 }
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: strategies.length - 1 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 4 }),
        (seed, strategyIndex, crashesMs) => {
          const cluster = faultFreeCluster({ seed, disk: { latencyNs: [20_000, 400_000] } })
          const model = new Model()
          const rng = seededSource(seed)
          let finished = false
          services(
            cluster,
            (incarnation) =>
              Effect.gen(function* () {
                const wal = yield* openWal(simConfig(strategies[strategyIndex]!))
                yield* model.checkRecovered(wal)
                if (finished) return
                const strategy = strategies[strategyIndex]!
                yield* workload(wal, model, rng.split(`ops/${incarnation}`), 40, strategy._tag === "None" || strategy._tag === "Threshold")
                finished = true
              }),
            model
          )
          for (const ms of crashesMs) {
            cluster.scheduler.run({ untilNs: cluster.scheduler.now + ms * MS })
            cluster.crash(n1)
            cluster.restart(n1)
          }
          cluster.scheduler.run({ untilNs: cluster.scheduler.now + 10_000 * MS })
          expect(finished).toBe(true)
          // A last power failure after the workload, and one more recovery check.
          cluster.crash(n1)
          cluster.restart(n1)
          cluster.scheduler.run({ untilNs: cluster.scheduler.now + 1_000 * MS })
          expect(model.problems).toEqual([])
          expect(model.recoveries).toBeGreaterThanOrEqual(2)
          totals.cut += model.tornTailsCut
          totals.kept += model.tailRecordsKept
        }
      ),
      { numRuns: Number(process.env["WAL_PROPERTY_RUNS"] ?? 150), seed: Number(process.env["WAL_PROPERTY_SEED"] ?? 20240601) }
    )
    // The crashes did hit the volatile window: tails were both cut and kept.
    expect(totals.cut).toBeGreaterThan(0)
    expect(totals.kept).toBeGreaterThan(0)
  })

  it("with bit rot, misdirected writes and latent sector errors too: damage is reported or refused, never served, and no acknowledged record vanishes", () => {
    const totals = { damage: 0, refused: 0 }
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: strategies.length - 1 }),
        fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 3 }),
        (seed, strategyIndex, crashesMs) => {
          const cluster = faultFreeCluster({
            seed,
            disk: { latencyNs: [20_000, 400_000], bitRotRate: 0.01, misdirectedWriteRate: 0.005, latentSectorRate: 0.005 }
          })
          const model = new Model()
          model.lenient = true
          const rng = seededSource(seed)
          let finished = false
          services(
            cluster,
            (incarnation) =>
              Effect.gen(function* () {
                const wal = yield* openWal(simConfig(strategies[strategyIndex]!))
                yield* model.checkRecovered(wal)
                if (finished) return
                const strategy = strategies[strategyIndex]!
                yield* workload(wal, model, rng.split(`ops/${incarnation}`), 30, strategy._tag === "None" || strategy._tag === "Threshold")
                finished = true
              }),
            model
          )
          for (const ms of crashesMs) {
            cluster.scheduler.run({ untilNs: cluster.scheduler.now + ms * MS })
            cluster.crash(n1)
            cluster.restart(n1)
          }
          cluster.scheduler.run({ untilNs: cluster.scheduler.now + 10_000 * MS })
          cluster.crash(n1)
          cluster.restart(n1)
          cluster.scheduler.run({ untilNs: cluster.scheduler.now + 1_000 * MS })
          // A lost superblock (every copy rotted) would stop the node: with these rates it must not happen here.
          expect(model.problems).toEqual([])
          totals.damage += model.damageReported
          totals.refused += model.readsRefused
        }
      ),
      { numRuns: Number(process.env["WAL_PROPERTY_RUNS"] ?? 100), seed: Number(process.env["WAL_PROPERTY_SEED"] ?? 7) }
    )
    expect(totals.damage + totals.refused).toBeGreaterThan(0)
  })

  it("the model check rejects a log that lost an acknowledged record", () => {
    const cluster = faultFreeCluster({ seed: "vacuity" })
    const model = new Model()
    services(
      cluster,
      (incarnation) =>
        Effect.gen(function* () {
          const wal = yield* openWal(simConfig(SyncStrategy.always))
          if (incarnation > 0) {
            model.acked += 1 // claim one more acknowledged record than the log can have
            return yield* model.checkRecovered(wal)
          }
          const seq = yield* Effect.orDie(wal.appendDurable(new Uint8Array([1, 2, 3])))
          model.contents.set(seq, new Uint8Array([1, 2, 3]))
          model.acked = seq
        }),
      model
    )
    cluster.scheduler.run({ untilNs: 100 * MS })
    cluster.crash(n1)
    cluster.restart(n1)
    cluster.scheduler.run({ untilNs: cluster.scheduler.now + 100 * MS })
    expect(model.problems.some((p) => p.includes("lost acknowledged records"))).toBe(true)
  })

  it("recovery is idempotent: crashes during recovery, then recovery again, give the same log", () => {
    for (const seed of ["idem-a", "idem-b", "idem-c"]) {
      const cluster = faultFreeCluster({ seed, disk: { latencyNs: [20_000, 400_000] } })
      const model = new Model()
      const rng = seededSource(seed)
      let workloadDone = false
      services(
        cluster,
        (incarnation) =>
          Effect.gen(function* () {
            const wal = yield* openWal(simConfig(SyncStrategy.none))
            yield* model.checkRecovered(wal)
            if (incarnation === 0) {
              yield* workload(wal, model, rng.split("ops"), 30, true)
              workloadDone = true
            }
          }),
        model
      )
      cluster.scheduler.run({ untilNs: 30 * MS })
      cluster.crash(n1)
      // Crash again and again a little way into each recovery.
      for (let k = 1; k <= 12; k++) {
        cluster.restart(n1)
        cluster.scheduler.run({ untilNs: cluster.scheduler.now + k * 0.15 * MS })
        cluster.crash(n1)
      }
      cluster.restart(n1)
      cluster.scheduler.run({ untilNs: cluster.scheduler.now + 100 * MS })
      void workloadDone
      expect(model.problems).toEqual([])
      // Some recoveries were cut short by a crash, and the last one completed.
      expect(model.recoveries).toBeGreaterThanOrEqual(2)
      expect(model.recoveries).toBeLessThan(13)
    }
  })
})

/** Runs a scripted single-node scenario: `script` gets the WAL and a way to wait for the test to change the disk. */
const scenario = (
  seed: string,
  config: WalConfig,
  script: (wal: Wal, incarnation: number) => Effect.Effect<void, unknown, NodeServices>
) => {
  const cluster = faultFreeCluster({ seed, disk: { latencyNs: [10_000, 50_000] } })
  const model = new Model()
  services(cluster, (incarnation) => Effect.flatMap(openWal(config), (wal) => script(wal, incarnation)), model)
  return { cluster, model, disk: () => cluster.disk(n1) }
}

const pause = (ms: number) =>
  Effect.gen(function* () {
    const clock = yield* Clock
    yield* clock.sleep(ms)
  })
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill)
/** A payload whose frame fills exactly one 4 KiB sector, so a sector fault hits exactly one record. */
const SECTOR_PAYLOAD = 4096 - 32

describe("wal against each simulated disk fault", () => {
  it("torn tail: a multi-sector record torn by a crash is cut, with no damage reported", () => {
    let cut = 0
    for (let i = 0; i < 20; i++) {
      const state = { acked: 0, appended: 0, recovered: -1, damage: -1 }
      const { cluster, model } = scenario(`torn-${i}`, simConfig(SyncStrategy.none), (wal, incarnation) =>
        Effect.gen(function* () {
          if (incarnation === 0) {
            yield* wal.append(bytes(100, 1))
            yield* wal.sync
            state.acked = 1
            yield* wal.append(bytes(6 * 4096, 2))
            yield* wal.append(bytes(100, 3))
            state.appended = 3
            return yield* Effect.never
          }
          state.recovered = wal.recovery.lastSeq
          state.damage = wal.recovery.damaged.length
          for (let s = 1; s <= wal.recovery.lastSeq; s++) {
            const got = yield* wal.read(s)
            expect(got[0]).toBe(s)
          }
        })
      )
      cluster.scheduler.run({ untilNs: 20 * MS })
      const torn = cluster.faults.count("disk.torn-write")
      cluster.crash(n1)
      cluster.restart(n1)
      cluster.scheduler.run({ untilNs: cluster.scheduler.now + 50 * MS })
      expect(model.problems).toEqual([])
      expect(state.damage).toBe(0)
      expect(state.recovered).toBeGreaterThanOrEqual(state.acked)
      if (cluster.faults.count("disk.torn-write") > torn && state.recovered < state.appended) cut++
    }
    expect(cut).toBeGreaterThan(0)
  })

  it("bit rot in an acknowledged record: the read fails typed, recovery reports the seq and position", () => {
    const seen: Record<string, unknown> = {}
    const { cluster, model, disk } = scenario("rot", simConfig(SyncStrategy.always), (wal, incarnation) =>
      Effect.gen(function* () {
        if (incarnation === 0) {
          for (let i = 1; i <= 10; i++) yield* wal.appendDurable(bytes(SECTOR_PAYLOAD, i))
          yield* pause(10)
          const exit = yield* Effect.exit(wal.read(4))
          seen.readError = Exit.isFailure(exit) ? JSON.stringify(Cause.squash(exit.cause)) : "none"
          return yield* Effect.never
        }
        seen.damaged = wal.recovery.damaged
        seen.others = yield* Effect.forEach([1, 2, 3, 5, 10], (s) => Effect.map(wal.read(s), (b) => b[0]))
        seen.read4 = (yield* Effect.flip(wal.read(4)))._tag
      })
    )
    cluster.scheduler.run({ untilNs: 5 * MS })
    disk().config = { ...disk().config, bitRotRate: 1 }
    cluster.scheduler.run({ untilNs: 15 * MS })
    disk().config = { ...disk().config, bitRotRate: 0 }
    expect(cluster.faults.count("disk.bit-rot")).toBe(1)
    cluster.crash(n1)
    cluster.restart(n1)
    cluster.scheduler.run({ untilNs: cluster.scheduler.now + 50 * MS })
    expect(model.problems).toEqual([])
    expect(seen.readError).toContain("WalCorruptRecordError")
    expect(seen.damaged).toEqual([{ seq: 4, segment: 1, offset: 3 * 4096, reason: "payload-checksum" }])
    expect(seen.others).toEqual([1, 2, 3, 5, 10])
    expect(seen.read4).toBe("WalCorruptRecordError")
  })

  it("misdirected write: the acknowledged record that never reached its place is reported, later ones are served", () => {
    const seen: Record<string, unknown> = {}
    const { cluster, model, disk } = scenario("misdirect", simConfig(SyncStrategy.always), (wal, incarnation) =>
      Effect.gen(function* () {
        if (incarnation === 0) {
          yield* wal.appendDurable(bytes(100, 1))
          yield* wal.appendDurable(bytes(100, 2))
          yield* pause(10)
          yield* wal.appendDurable(bytes(100, 3))
          yield* pause(10)
          yield* wal.appendDurable(bytes(100, 4))
          yield* wal.appendDurable(bytes(100, 5))
          return yield* Effect.never
        }
        seen.damaged = wal.recovery.damaged.map((d) => [d.seq, d.reason])
        seen.last = wal.recovery.lastSeq
        seen.others = yield* Effect.forEach([1, 2, 4, 5], (s) => Effect.map(wal.read(s), (b) => b[0]))
        yield* wal.repair(3, bytes(100, 3))
        seen.repaired = (yield* wal.read(3))[0]
      })
    )
    cluster.scheduler.run({ untilNs: 5 * MS })
    disk().config = { ...disk().config, misdirectedWriteRate: 1 }
    cluster.scheduler.run({ untilNs: 15 * MS })
    disk().config = { ...disk().config, misdirectedWriteRate: 0 }
    expect(cluster.faults.count("disk.misdirected-write")).toBeGreaterThan(0)
    cluster.scheduler.run({ untilNs: 40 * MS })
    cluster.crash(n1)
    cluster.restart(n1)
    cluster.scheduler.run({ untilNs: cluster.scheduler.now + 50 * MS })
    expect(model.problems).toEqual([])
    expect(seen.damaged).toEqual([[3, "header"]])
    expect(seen.last).toBe(5)
    expect(seen.others).toEqual([1, 2, 4, 5])
    expect(seen.repaired).toBe(3)
  })

  it("latent sector error: reads fail with a typed error, recovery reports it unreadable, a repair rewrites it", () => {
    const seen: Record<string, unknown> = {}
    const { cluster, model, disk } = scenario("latent", simConfig(SyncStrategy.always), (wal, incarnation) =>
      Effect.gen(function* () {
        if (incarnation === 0) {
          for (let i = 1; i <= 3; i++) yield* wal.appendDurable(bytes(SECTOR_PAYLOAD, i))
          yield* pause(10)
          yield* wal.appendDurable(bytes(SECTOR_PAYLOAD, 4))
          yield* pause(10)
          yield* wal.appendDurable(bytes(SECTOR_PAYLOAD, 5))
          seen.readError = (yield* Effect.flip(wal.read(4)))._tag
          return yield* Effect.never
        }
        seen.damaged = wal.recovery.damaged.map((d) => [d.seq, d.reason])
        seen.others = yield* Effect.forEach([1, 2, 3, 5], (s) => Effect.map(wal.read(s), (b) => b[0]))
        yield* wal.repair(4, bytes(SECTOR_PAYLOAD, 4))
        seen.repaired = (yield* wal.read(4))[0]
      })
    )
    cluster.scheduler.run({ untilNs: 5 * MS })
    disk().config = { ...disk().config, latentSectorRate: 1 }
    cluster.scheduler.run({ untilNs: 15 * MS })
    disk().config = { ...disk().config, latentSectorRate: 0 }
    cluster.scheduler.run({ untilNs: 40 * MS })
    cluster.crash(n1)
    cluster.restart(n1)
    cluster.scheduler.run({ untilNs: cluster.scheduler.now + 50 * MS })
    expect(model.problems).toEqual([])
    expect(seen.readError).toBe("WalReadError")
    expect(seen.damaged).toEqual([[4, "unreadable"]])
    expect(seen.others).toEqual([1, 2, 3, 5])
    expect(seen.repaired).toBe(4)
  })

  it("failed fsync: the append is not acknowledged, the log stops, and the data is gone after a restart", () => {
    const seen: Record<string, unknown> = {}
    const { cluster, model, disk } = scenario("fsync", simConfig(SyncStrategy.always), (wal, incarnation) =>
      Effect.gen(function* () {
        if (incarnation === 0) {
          yield* wal.appendDurable(bytes(100, 1))
          yield* pause(10)
          seen.failedAppend = (yield* Effect.flip(wal.appendDurable(bytes(100, 2))))._tag
          seen.afterwards = (yield* Effect.flip(wal.append(bytes(100, 3))))._tag
          return yield* Effect.never
        }
        seen.last = wal.recovery.lastSeq
        seen.next = yield* wal.appendDurable(bytes(100, 9))
      })
    )
    cluster.scheduler.run({ untilNs: 5 * MS })
    disk().config = { ...disk().config, syncFailureRate: 1 }
    cluster.scheduler.run({ untilNs: 15 * MS })
    disk().config = { ...disk().config, syncFailureRate: 0 }
    expect(cluster.faults.count("disk.fsync-failure")).toBeGreaterThan(0)
    cluster.crash(n1)
    cluster.restart(n1)
    cluster.scheduler.run({ untilNs: cluster.scheduler.now + 50 * MS })
    expect(model.problems).toEqual([])
    expect(seen.failedAppend).toBe("WalFailedError")
    expect(seen.afterwards).toBe("WalFailedError")
    expect(seen.last).toBe(1)
    expect(seen.next).toBe(2)
  })

  it("full disk: a clean typed error, nothing acknowledged is lost, appends resume when space returns", () => {
    const seen: Record<string, unknown> = {}
    const segmentBytes = 16 * 1024
    const { cluster, model, disk } = scenario("enospc", { segmentBytes, sync: SyncStrategy.always }, (wal, incarnation) =>
      Effect.gen(function* () {
        if (incarnation === 0) {
          let last = 0
          for (;;) {
            const r = yield* Effect.result(wal.appendDurable(bytes(1000, 7)))
            if (r._tag === "Failure") {
              seen.error = r.failure._tag
              break
            }
            last = r.success
          }
          seen.lastBeforeFull = last
          seen.readable = (yield* wal.read(last))[0]
          yield* pause(10)
          seen.afterSpace = yield* wal.appendDurable(bytes(1000, 8))
          return yield* Effect.never
        }
        seen.recovered = wal.recovery.lastSeq
        seen.damage = wal.recovery.damaged.length
      })
    )
    // The superblock (four sectors) and the first segment fit; the second segment does not.
    disk().config = { ...disk().config, capacityBytes: 4 * 4096 + segmentBytes + 4096 }
    cluster.scheduler.run({ untilNs: 5 * MS })
    disk().config = { ...disk().config, capacityBytes: Number.MAX_SAFE_INTEGER }
    cluster.scheduler.run({ untilNs: 30 * MS })
    cluster.crash(n1)
    cluster.restart(n1)
    cluster.scheduler.run({ untilNs: cluster.scheduler.now + 50 * MS })
    // The simulator names this fault "disk.enospc" (earlier "disk.full").
    expect(cluster.faults.count("disk.enospc") + cluster.faults.count("disk.full")).toBeGreaterThan(0)
    expect(model.problems).toEqual([])
    expect(seen.error).toBe("WalDiskFullError")
    expect(seen.lastBeforeFull).toBeGreaterThan(5)
    expect(seen.readable).toBe(7)
    expect(seen.afterSpace).toBe((seen.lastBeforeFull as number) + 1)
    expect(seen.recovered).toBe(seen.afterSpace)
    expect(seen.damage).toBe(0)
  })

  it("read errors (EIO) surface as typed errors and never as data", () => {
    const seen: Array<string> = []
    const { cluster, model, disk } = scenario("eio", simConfig(SyncStrategy.always), (wal, incarnation) =>
      Effect.gen(function* () {
        if (incarnation > 0) return
        for (let i = 1; i <= 5; i++) yield* wal.appendDurable(bytes(100, i))
        yield* pause(10)
        for (let i = 1; i <= 5; i++) {
          const r = yield* Effect.result(wal.read(i))
          seen.push(r._tag === "Success" ? `ok${r.success[0]}` : r.failure._tag)
        }
      })
    )
    cluster.scheduler.run({ untilNs: 5 * MS })
    disk().config = { ...disk().config, readErrorRate: 1 }
    cluster.scheduler.run({ untilNs: 30 * MS })
    expect(model.problems).toEqual([])
    expect(seen).toEqual(["WalReadError", "WalReadError", "WalReadError", "WalReadError", "WalReadError"])
  })
})
