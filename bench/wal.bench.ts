/**
 * `npm run bench -- wal [--seconds S] [--record BYTES] [--dir PATH] [--sim-only|--real-only]`:
 * WAL appends/s and MB/s for each sync strategy at 1, 16 and 256 concurrent
 * appenders, on the simulator's disk and on a real disk, next to the raw
 * floor measured in the same run (serial write + fdatasync of one record).
 *
 * What an append counts as done: for Always, Periodic and Threshold the
 * appender waits for `durable` (the record and the superblock are synced);
 * for None it waits only until the log accepts the record (bounded by the
 * log's backpressure), since None never syncs on its own.
 *
 * Simulated disk latency model: every disk operation (read, write, fsync,
 * directory fsync, ...) completes after a uniform 50–150 µs of virtual time,
 * with no bandwidth limit and no faults; appends/s are per virtual second.
 */
import { Clock, Disk, nodeId, SyncStrategy, type ClockShape } from "@cairn/core"
import { libuvDisk } from "@cairn/runtime-node/disk/libuv-disk"
import { faultFreeCluster } from "@cairn/sim/cluster"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { open } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { printTable, saveResult } from "./result.ts"
import { countingDisk, walWorkload } from "./wal-workload.ts"

type Row = Record<string, string | number | boolean | null>

const strategies = [
  { name: "Always (Durable)", sync: SyncStrategy.always, waitsDurable: true },
  { name: "Periodic 10ms (Balanced)", sync: SyncStrategy.periodic(10), waitsDurable: true },
  { name: "Threshold 256rec/1MiB/10ms", sync: SyncStrategy.threshold({ bytes: 1 << 20, records: 256, maxDelayMs: 10 }), waitsDurable: true },
  { name: "None (Performance)", sync: SyncStrategy.none, waitsDurable: false }
] as const
const concurrencies = [1, 16, 256] as const


const nodeClock: ClockShape = {
  monotonicMs: Effect.sync(() => performance.now()),
  wallMs: Effect.sync(() => Date.now()),
  sleep: (ms) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))
}


const rowFor = (disk: string, strategy: string, appenders: number, r: { done: number; elapsedMs: number; fsyncs: number }, recordBytes: number, rawFloor: number): Row => {
  const perSecond = (r.done / r.elapsedMs) * 1000
  return {
    disk,
    strategy,
    appenders,
    "appends/s": Math.round(perSecond),
    "MB/s": Number(((perSecond * recordBytes) / 1e6).toFixed(2)),
    "fsyncs/s": Math.round((r.fsyncs / r.elapsedMs) * 1000),
    // A group commit is two fsyncs: the segment, then the superblock naming the new durable end.
    "appends/commit": r.fsyncs === 0 ? null : Number(((2 * r.done) / r.fsyncs).toFixed(1)),
    "x raw floor": Number((perSecond / rawFloor).toFixed(2))
  }
}

/** The raw floor: one record written then fdatasync'd, serially, straight through node:fs. */
const rawFloor = async (dir: string, recordBytes: number, seconds: number): Promise<number> => {
  const fh = await open(join(dir, "raw"), "w+")
  // Preallocate like the WAL does, so both pay the same metadata costs.
  await fh.write(new Uint8Array(64 * 1024 * 1024), 0, 64 * 1024 * 1024, 0)
  await fh.sync()
  const record = new Uint8Array(recordBytes).fill(7)
  const until = performance.now() + seconds * 1000
  const start = performance.now()
  let n = 0
  while (performance.now() < until) {
    await fh.write(record, 0, record.length, n * recordBytes)
    await fh.datasync()
    n++
  }
  const rate = (n / (performance.now() - start)) * 1000
  await fh.close()
  return rate
}

const runReal = async (root: string, strategy: (typeof strategies)[number], appenders: number, record: Uint8Array, seconds: number) => {
  const dir = mkdtempSync(join(root, "wal-"))
  try {
    const { disk, counts } = countingDisk(libuvDisk(dir))
    const layer = Layer.mergeAll(Layer.succeed(Disk, disk), Layer.succeed(Clock, nodeClock))
    return await Effect.runPromise(Effect.provide(walWorkload(strategy, appenders, record, seconds * 1000, counts), layer))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const runSim = (strategy: (typeof strategies)[number], appenders: number, record: Uint8Array, virtualMs: number) => {
  const cluster = faultFreeCluster({ seed: "wal-bench", disk: { latencyNs: [50_000, 150_000] } })
  const n1 = nodeId("n1")
  let result: { done: number; elapsedMs: number; fsyncs: number } | undefined
  cluster.start(() =>
    Effect.orDie(
      Effect.gen(function* () {
        const { disk, counts } = countingDisk(yield* Disk)
        result = yield* Effect.provideService(walWorkload(strategy, appenders, record, virtualMs, counts), Disk, disk)
      })
    )
  )
  cluster.scheduler.run({ untilNs: (virtualMs + 1000) * 1e6 })
  if (cluster.status(n1) !== "running") throw new Error("simulated node stopped")
  if (result === undefined) throw new Error(`simulated run did not finish: ${strategy.name} x${appenders}`)
  return result
}

export async function main(args: ReadonlyArray<string>): Promise<void> {
  const arg = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const seconds = Number(arg("--seconds") ?? 1.5)
  const recordBytes = Number(arg("--record") ?? 256)
  const root = arg("--dir") ?? tmpdir()
  const simOnly = args.includes("--sim-only")
  const realOnly = args.includes("--real-only")
  const record = new Uint8Array(recordBytes).fill(42)
  const rows: Array<Row> = []

  if (!realOnly) {
    // The simulated disk's raw floor: one write plus one fsync at 100 µs each on average.
    const simFloor = 1e9 / (2 * 100_000)
    rows.push({ disk: "sim", strategy: "raw write+fsync (floor)", appenders: 1, "appends/s": simFloor, "MB/s": Number(((simFloor * recordBytes) / 1e6).toFixed(2)), "fsyncs/s": simFloor, "appends/commit": 1, "x raw floor": 1 })
    for (const strategy of strategies) {
      for (const appenders of concurrencies) {
        const r = runSim(strategy, appenders, record, strategy.waitsDurable ? 500 : 50)
        rows.push(rowFor("sim", strategy.name, appenders, r, recordBytes, simFloor))
        process.stderr.write(`sim ${strategy.name} x${appenders} done\n`)
      }
    }
  }
  if (!simOnly) {
    const rawDir = mkdtempSync(join(root, "raw-"))
    const floor = await rawFloor(rawDir, recordBytes, seconds).finally(() => rmSync(rawDir, { recursive: true, force: true }))
    rows.push({ disk: "real", strategy: "raw write+fdatasync (floor)", appenders: 1, "appends/s": Math.round(floor), "MB/s": Number(((floor * recordBytes) / 1e6).toFixed(2)), "fsyncs/s": Math.round(floor), "appends/commit": 1, "x raw floor": 1 })
    for (const strategy of strategies) {
      for (const appenders of concurrencies) {
        const r = await runReal(root, strategy, appenders, record, seconds)
        rows.push(rowFor("real", strategy.name, appenders, r, recordBytes, floor))
        process.stderr.write(`real ${strategy.name} x${appenders} done\n`)
      }
    }
  }
  printTable(rows)
  const path = saveResult({
    benchmark: "wal",
    scenario:
      `WAL appends of ${recordBytes} B for ${seconds} s per cell on a real disk (libuv Disk under ${root}) and 500 ms (None: 50 ms) of virtual time on the simulated disk ` +
      "(every operation 50-150 us, no bandwidth limit). Always/Periodic/Threshold appenders wait for durability; None appenders wait only for acceptance. " +
      "Baseline: serial write + fdatasync of one record (real: measured in this run through node:fs on a preallocated file; sim: the latency model's 2 x 100 us).",
    rows
  })
  process.stdout.write(`saved ${path}\n`)
}
