/**
 * `npm run bench -- node [--part a|b] [--seconds S] [--repeat N] [--record BYTES] [--dir PATH]`: the
 * production runtime's benchmarks.
 *
 * (a) WAL appends/s on the io_uring Disk vs the libuv Disk, at 1, 16 and 256
 *     concurrent appenders, with the WAL of core/src/wal (`openWal`), next to
 *     a raw baseline measured in the same run: each appender writes its
 *     record at its own offset and fdatasyncs it, straight through node:fs
 *     (no WAL, no group commit, no checksums); for "None" the same loop
 *     without the fdatasync.
 *     - "Durable" (SyncStrategy.always): every appender waits for `durable`,
 *       i.e. its record and the superblock are fdatasync'd (group commit
 *       shares the fsyncs among concurrent appenders).
 *     - "None": appenders wait only until the log accepts the record; no
 *       fsync while measuring. This isolates the submission path (io_uring
 *       batching vs libuv's threadpool) from the device's flush latency.
 *
 * (b) A 3-node Cairn cluster (`cairn server` processes) next to a 3-member
 *     etcd started in the same run, both driven by one closed-loop HTTP load
 *     generator: committed PUTs/s and p50/p99 latency at 1, 16 and 256
 *     clients, both with their default durability. See
 *     `bench/cluster-vs-etcd.ts` (flags `--clients`, `--load-seconds`,
 *     `--warmup-seconds`, `--keys`, `--no-etcd`) and docs/runtime-node.md,
 *     "Cluster vs etcd". Saved as `bench/results/node-cluster-*.json`.
 *
 * `--part a` or `--part b` runs one part only (default: both).
 */
import { Clock, Disk, SyncStrategy } from "@cairn/core"
import { makeNodeDisk, systemClock } from "@cairn/runtime-node"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { open } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { clusterVsEtcdMain } from "./cluster-vs-etcd.ts"
import { printTable, saveResult } from "./result.ts"
import { countingDisk, walWorkload } from "./wal-workload.ts"

type Row = Record<string, string | number | boolean | null>

const concurrencies = [1, 16, 256] as const
const strategies = [
  { name: "Durable", sync: SyncStrategy.always, waitsDurable: true },
  { name: "None", sync: SyncStrategy.none, waitsDurable: false }
] as const
const SEGMENT_BYTES = 64 * 1024 * 1024



const runWal = async (
  root: string,
  backend: "io_uring" | "libuv",
  strategy: (typeof strategies)[number],
  appenders: number,
  record: Uint8Array,
  seconds: number
) => {
  const dir = mkdtempSync(join(root, `node-bench-${backend}-`))
  const chosen = makeNodeDisk(dir, backend)
  try {
    const { disk, counts } = countingDisk(chosen.disk)
    const layer = Layer.mergeAll(Layer.succeed(Disk, disk), Layer.succeed(Clock, systemClock))
    const r = await Effect.runPromise(Effect.provide(walWorkload(strategy, appenders, record, seconds * 1000, counts), layer))
    const uring = "stats" in chosen.disk ? (chosen.disk as { stats: { submits: number; sqes: number } }).stats : undefined
    return { ...r, submits: uring?.submits }
  } finally {
    chosen.shutdown()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** `appenders` loops of write-at-own-offset + sync through a Disk service (no WAL): the backend's own cost. */
const runDisk = async (root: string, backend: "io_uring" | "libuv", appenders: number, recordBytes: number, seconds: number) => {
  const dir = mkdtempSync(join(root, `node-bench-disk-${backend}-`))
  const chosen = makeNodeDisk(dir, backend)
  try {
    return await Effect.runPromise(
      Effect.gen(function*() {
        const f = yield* chosen.disk.open("raw", "create")
        for (let off = 0; off < SEGMENT_BYTES; off += 1 << 20) yield* f.write(off, new Uint8Array(1 << 20))
        yield* f.sync
        const uring = "stats" in chosen.disk ? (chosen.disk as { stats: { submits: number; fsyncs: number } }).stats : undefined
        const before = { submits: uring?.submits ?? 0, fsyncs: uring?.fsyncs ?? 0 }
        const record = new Uint8Array(recordBytes).fill(7)
        let next = 0
        let done = 0
        const start = performance.now()
        const until = start + seconds * 1000
        const loop = Effect.gen(function*() {
          while (performance.now() < until) {
            yield* f.write((next++ * recordBytes) % (SEGMENT_BYTES - recordBytes), record)
            yield* f.sync
            done++
          }
        })
        yield* Effect.all(Array.from({ length: appenders }, () => loop), { concurrency: "unbounded", discard: true })
        const elapsedMs = performance.now() - start
        const after = { submits: uring?.submits ?? 0, fsyncs: uring?.fsyncs ?? 0 }
        yield* f.close
        // libuv issues one fdatasync per sync; io_uring shares them among concurrent syncs.
        const fsyncs = uring === undefined ? done : after.fsyncs - before.fsyncs
        return { done, elapsedMs, fsyncs, submits: uring === undefined ? undefined : after.submits - before.submits }
      })
    )
  } finally {
    chosen.shutdown()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The run whose rate is the median of `n` runs (the machine is shared and noisy). */
const median = async <R extends { done: number; elapsedMs: number }>(n: number, run: () => Promise<R>): Promise<R> => {
  const runs: Array<R> = []
  for (let i = 0; i < n; i++) runs.push(await run())
  runs.sort((a, b) => a.done / a.elapsedMs - b.done / b.elapsedMs)
  return runs[Math.floor(runs.length / 2)]!
}

/**
 * The raw baseline: `appenders` loops of write-at-own-offset (+ fdatasync when
 * `sync`) on one preallocated file, via node:fs.
 */
const runRaw = async (root: string, appenders: number, recordBytes: number, seconds: number, sync: boolean) => {
  const dir = mkdtempSync(join(root, "node-bench-raw-"))
  const fh = await open(join(dir, "raw"), "w+")
  try {
    await fh.write(new Uint8Array(SEGMENT_BYTES), 0, SEGMENT_BYTES, 0) // preallocated, like the WAL's segments
    await fh.sync()
    const record = new Uint8Array(recordBytes).fill(7)
    let next = 0
    let fsyncs = 0
    let done = 0
    const start = performance.now()
    const until = start + seconds * 1000
    const loop = async () => {
      while (performance.now() < until) {
        const offset = (next++ * recordBytes) % (SEGMENT_BYTES - recordBytes)
        await fh.write(record, 0, recordBytes, offset)
        if (sync) {
          await fh.datasync()
          fsyncs++
        }
        done++
      }
    }
    await Promise.all(Array.from({ length: appenders }, loop))
    return { done, elapsedMs: performance.now() - start, fsyncs }
  } finally {
    await fh.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const row = (
  disk: string,
  workload: string,
  appenders: number,
  r: { done: number; elapsedMs: number; fsyncs: number; submits?: number | undefined },
  baseline: number | undefined
): Row => {
  const perSecond = (r.done / r.elapsedMs) * 1000
  return {
    disk,
    workload,
    appenders,
    "appends/s": Math.round(perSecond),
    "fsyncs/s": Math.round((r.fsyncs / r.elapsedMs) * 1000),
    "x raw": baseline === undefined ? null : Number((perSecond / baseline).toFixed(2)),
    "io_uring_enter/append": r.submits === undefined || r.done === 0 ? null : Number((r.submits / r.done).toFixed(3))
  }
}

export async function main(args: ReadonlyArray<string>): Promise<void> {
  const part = args.includes("--part") ? args[args.indexOf("--part") + 1] : "all"
  if (part !== "b") await partA(args)
  // Part (b): real processes, Cairn vs etcd; its own results file.
  if (part !== "a") await clusterVsEtcdMain("node-cluster", args)
}

async function partA(args: ReadonlyArray<string>): Promise<void> {
  const arg = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const seconds = Number(arg("--seconds") ?? 1.5)
  const repeat = Number(arg("--repeat") ?? 1)
  const recordBytes = Number(arg("--record") ?? 256)
  const root = arg("--dir") ?? tmpdir()
  const record = new Uint8Array(recordBytes).fill(42)

  const probe = makeNodeDisk(mkdtempSync(join(root, "node-bench-probe-")), "auto")
  probe.shutdown()
  process.stderr.write(`disk backend available: ${probe.backend} (${probe.reason})\n`)
  const backends: Array<"io_uring" | "libuv"> = probe.backend === "io_uring" ? ["io_uring", "libuv"] : ["libuv"]

  const rows: Array<Row> = []
  // Baselines per strategy: write+fdatasync for Durable, write alone for None.
  const raw = new Map<string, number>()
  for (const strategy of strategies) {
    for (const appenders of concurrencies) {
      const r = await median(repeat, () => runRaw(root, appenders, recordBytes, seconds, strategy.waitsDurable))
      raw.set(`${strategy.name}/${appenders}`, (r.done / r.elapsedMs) * 1000)
      rows.push(row("node:fs", strategy.waitsDurable ? "raw write+fdatasync" : "raw write", appenders, r, undefined))
      process.stderr.write(`raw ${strategy.name} x${appenders} done\n`)
    }
  }
  for (const appenders of concurrencies) {
    for (const backend of backends) {
      const r = await median(repeat, () => runDisk(root, backend, appenders, recordBytes, seconds))
      rows.push(row(backend, "Disk write+sync", appenders, r, raw.get(`Durable/${appenders}`)))
      process.stderr.write(`${backend} Disk x${appenders} done\n`)
    }
  }
  for (const strategy of strategies) {
    for (const appenders of concurrencies) {
      for (const backend of backends) {
        const r = await median(repeat, () => runWal(root, backend, strategy, appenders, record, seconds))
        rows.push(row(backend, `WAL ${strategy.name}`, appenders, r, raw.get(`${strategy.name}/${appenders}`)))
        process.stderr.write(`${backend} ${strategy.name} x${appenders} done\n`)
      }
    }
  }
  printTable(rows)
  const path = saveResult({
    benchmark: "node",
    scenario:
      `Part (a): WAL appends of ${recordBytes} B for ${seconds} s per cell (median of ${repeat} runs) under ${root}, through the io_uring Disk and the libuv Disk ` +
      "('Disk write+sync': the same loop as the raw baseline but through each Disk service, no WAL) " +
      "(WAL Durable = SyncStrategy.always, appenders wait for durability; WAL None = no fsync while measuring, appenders wait for acceptance), " +
      "at 1, 16 and 256 concurrent appenders. Baseline ('x raw'): the same number of appenders each writing its record at its own offset " +
      "of a preallocated file, straight through node:fs, measured in this run: with an fdatasync after each write for Durable, without for None. " +
      "Part (b), a 3-node KV cluster vs etcd, is saved separately as node-cluster-*.json.",
    rows
  })
  process.stdout.write(`saved ${path}\n`)
}
