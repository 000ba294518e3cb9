/**
 * What the raw disk does through node:fs, measured in the benchmark's own
 * run on the filesystem its servers write to: the baselines that storage
 * figures are printed next to.
 *
 * - `sequentialWrite`: large writes to a new file and one fdatasync at the
 *   end, in MiB/s (the best a log's appends can stream at).
 * - `syncWrites`: small writes at successive offsets of a preallocated
 *   file, each followed by fdatasync, one writer: ops/s and the latency of
 *   each write + fdatasync (what one durable append costs at best).
 */
import { rmSync } from "node:fs"
import { open } from "node:fs/promises"
import { join } from "node:path"

const MiB = 1024 * 1024

/** MiB/s of `bytes` written in 4 MiB writes to a new file in `dir`, then one fdatasync. */
export const sequentialWrite = async (dir: string, bytes: number): Promise<number> => {
  const chunk = Buffer.alloc(4 * MiB, 0x5a)
  const path = join(dir, "baseline-seq")
  const file = await open(path, "w")
  const t0 = performance.now()
  try {
    for (let written = 0; written < bytes; written += chunk.length) await file.write(chunk, 0, Math.min(chunk.length, bytes - written), written)
    await file.datasync()
  } finally {
    await file.close()
  }
  const ms = performance.now() - t0
  rmSync(path, { force: true })
  return bytes / MiB / (ms / 1000)
}

export interface SyncWrites {
  readonly opsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
}

const quantile = (sorted: ReadonlyArray<number>, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN

/** `recordBytes` writes, each followed by fdatasync, for `ms` at successive offsets of a preallocated 64 MiB file in `dir`. */
export const syncWrites = async (dir: string, ms: number, recordBytes = 4096): Promise<SyncWrites> => {
  const region = 64 * MiB
  const path = join(dir, "baseline-sync")
  const file = await open(path, "w+")
  const latencies: Array<number> = []
  let elapsed = 0
  try {
    const fill = Buffer.alloc(4 * MiB, 0x5a)
    for (let off = 0; off < region; off += fill.length) await file.write(fill, 0, fill.length, off)
    await file.datasync()
    const record = Buffer.alloc(recordBytes, 0x33)
    const start = performance.now()
    while (performance.now() < start + ms) {
      const t = performance.now()
      await file.write(record, 0, record.length, (latencies.length * record.length) % region)
      await file.datasync()
      latencies.push(performance.now() - t)
    }
    elapsed = performance.now() - start
  } finally {
    await file.close()
    rmSync(path, { force: true })
  }
  const sorted = [...latencies].sort((a, b) => a - b)
  return { opsPerSec: latencies.length / (elapsed / 1000), p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) }
}
