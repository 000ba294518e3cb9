/**
 * `npm run bench -- ec [--quick | --variants]`: Reed-Solomon encode and reconstruct
 * throughput on one core, in MB/s of data shards in (k × shard size per
 * call), for 4+2, 10+4 and 16+4 with 256 KiB and 1 MiB shards.
 *
 * In the same run, next to Cairn's wasm SIMD codec (shards in ordinary
 * arrays, and shards allocated in the kernel's memory with `allocateShards`):
 * - Cairn's scalar reference kernel (a JS table loop);
 * - @ronomon/reed-solomon, a native C addon (not byte-compatible with
 *   klauspost; it runs on libuv's threadpool, one call in flight at a time,
 *   so one core);
 * - a plain memory copy of the same k shards (`Uint8Array.prototype.set`),
 *   the ceiling for anything that reads its input once.
 */
import { createRequire } from "node:module"
import { Erasure } from "@cairn/core"
import { encodingMatrix } from "@cairn/core/erasure/matrix"
import { makeSimdKernel, type SimdOptions } from "@cairn/core/erasure/simd"
import { printTable, saveResult } from "./result.ts"

type Row = Record<string, string | number | boolean | null>

interface Ronomon {
  readonly create: (k: number, m: number) => unknown
  readonly encode: (
    context: unknown,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    callback: (error: Error | undefined) => void
  ) => void
}

const loadRonomon = (): Ronomon | string => {
  try {
    return createRequire(import.meta.url)("@ronomon/reed-solomon") as Ronomon
  } catch (error) {
    // An optional dependency: its native addon needs a C compiler at `npm ci`, which Cairn itself does not.
    const missing = typeof error === "object" && error !== null && "code" in error && error.code === "MODULE_NOT_FOUND"
    return missing
      ? "is not installed (an optional dependency whose native addon needs a C compiler at `npm ci`): its baseline rows are left out"
      : `cannot be loaded (${String(error).split("\n")[0]}): its baseline rows are left out`
  }
}

const KiB = 1024
const MiB = 1024 * KiB

/** Runs `op` in batches of about `batchMs`, `samples` times; returns the median and best MB/s. */
const measure = async (
  bytesPerOp: number,
  op: () => void | Promise<void>,
  samples: number,
  batchMs: number
): Promise<{ median: number; best: number }> => {
  for (let i = 0; i < 2; i++) await op()
  // Size a batch from one timed call.
  let t0 = performance.now()
  await op()
  const once = Math.max(performance.now() - t0, 0.001)
  const perBatch = Math.max(1, Math.round(batchMs / once))
  const rates: Array<number> = []
  for (let s = 0; s < samples; s++) {
    t0 = performance.now()
    for (let i = 0; i < perBatch; i++) await op()
    const seconds = (performance.now() - t0) / 1000
    rates.push((bytesPerOp * perBatch) / seconds / 1e6)
  }
  rates.sort((a, b) => a - b)
  return { median: rates[Math.floor(rates.length / 2)]!, best: rates[rates.length - 1]! }
}

const fillPseudoRandom = (bytes: Uint8Array, seed: number): void => {
  let x = seed >>> 0 || 1
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2)
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x >>> 0
  }
}

/** Cold runs rotate through this many bytes of distinct shard sets, well past the 32 MiB L3. */
const COLD_BYTES = 96 * MiB

const measureConfig = async (
  k: number,
  m: number,
  size: number,
  cache: "hot" | "cold",
  ronomon: Ronomon | string,
  samples: number,
  batchMs: number
): Promise<Array<Row>> => {
  const rows: Array<Row> = []
  const fast = Erasure.makeCodec(k, m)
  const scalar = Erasure.makeCodec(k, m, { kernel: "scalar" })
  const setCount = cache === "hot" ? 1 : Math.ceil(COLD_BYTES / ((k + m) * size))
  const dataBytes = k * size
  // Lose as many data shards as there is parity: the costliest rebuild.
  const lost = Array.from({ length: Math.min(m, k) }, (_, i) => i)
  const damaged = (all: ReadonlyArray<Uint8Array>) => all.map((s, i) => (lost.includes(i) ? null : s))
  const presentFlags = Array.from({ length: k + m }, (_, i) => !lost.includes(i))

  interface ShardSet {
    readonly shards: Array<Uint8Array>
    readonly inPlace: Array<Uint8Array>
    readonly copyTarget: Array<Uint8Array>
  }
  const sets: Array<ShardSet> = Array.from({ length: setCount }, (_, n) => {
    const data = Array.from({ length: k }, (_, i) => {
      const s = new Uint8Array(size)
      fillPseudoRandom(s, n * 1000 + i + 1)
      return s
    })
    const inPlace = Erasure.allocateShards(fast, size)
    data.forEach((d, i) => inPlace[i]!.set(d))
    return {
      shards: [...data, ...Array.from({ length: m }, () => new Uint8Array(size))],
      inPlace,
      copyTarget: Array.from({ length: k }, () => new Uint8Array(size))
    }
  })
  let turn = 0
  const next = (): ShardSet => sets[turn++ % setCount]!

  const first = sets[0]!
  const reference = Erasure.encode(scalar, [...first.shards.slice(0, k), ...new Array<null>(m).fill(null)])
  const check = (label: string, got: ReadonlyArray<Uint8Array | null>) => {
    got.forEach((s, i) => {
      const want = reference[i]!
      if (s === null || s.length !== want.length || s.some((b, j) => b !== want[j])) {
        throw new Error(`${label}: shard ${i} differs from the scalar reference`)
      }
    })
  }
  check("simd encode", Erasure.encode(fast, first.shards))
  check("in-place encode", Erasure.encode(fast, first.inPlace))
  check("simd reconstruct", Erasure.reconstruct(fast, damaged(reference)))
  for (const set of sets) Erasure.encode(fast, set.inPlace)
  for (const i of lost) first.inPlace[i]!.fill(0)
  Erasure.reconstructInPlace(fast, first.inPlace, presentFlags)
  check("in-place reconstruct", first.inPlace)

  type Cell = {
    impl: string
    encode: () => void | Promise<void>
    reconstruct: () => void | Promise<void>
    compatible: boolean | null
  }
  const cells: Array<Cell> = [
    {
      impl: "cairn wasm-simd",
      encode: () => void Erasure.encode(fast, next().shards),
      reconstruct: () => void Erasure.reconstruct(fast, damaged(next().shards)),
      compatible: true
    },
    {
      impl: "cairn wasm-simd, allocateShards",
      encode: () => void Erasure.encode(fast, next().inPlace),
      reconstruct: () => Erasure.reconstructInPlace(fast, next().inPlace, presentFlags),
      compatible: true
    }
  ]
  if (cache === "hot") {
    cells.push({
      impl: "cairn scalar reference",
      encode: () => void Erasure.encode(scalar, next().shards),
      reconstruct: () => void Erasure.reconstruct(scalar, damaged(next().shards)),
      compatible: true
    })
  }
  if (typeof ronomon !== "string") {
    const context = ronomon.create(k, m)
    const buffers = sets.map((set) => {
      const buffer = Buffer.alloc(k * size)
      set.shards.slice(0, k).forEach((d, i) => buffer.set(d, i * size))
      return { buffer, parity: Buffer.alloc(m * size) }
    })
    let all = 0
    for (let i = 0; i < k + m; i++) all |= 1 << i
    let dataBits = 0
    for (let i = 0; i < k; i++) dataBits |= 1 << i
    let lostBits = 0
    for (const i of lost) lostBits |= 1 << i
    let ronomonTurn = 0
    const run = (sources: number, targets: number, b = buffers[ronomonTurn++ % buffers.length]!) =>
      new Promise<void>((resolve, reject) =>
        ronomon.encode(context, sources, targets, b.buffer, 0, b.buffer.length, b.parity, 0, b.parity.length, (e) =>
          e ? reject(e) : resolve()
        )
      )
    for (const b of buffers) await run(dataBits, all & ~dataBits, b)
    const b0 = buffers[0]!
    const compatible = b0.parity.subarray(0, size).every((b, j) => b === reference[k]![j])
    // Its rebuild must restore the data it lost, or its figure means nothing.
    const saved = Buffer.from(b0.buffer.subarray(0, size))
    b0.buffer.fill(0, 0, size)
    await run(all & ~lostBits, lostBits, b0)
    if (!b0.buffer.subarray(0, size).equals(saved)) throw new Error("@ronomon/reed-solomon did not rebuild shard 0")
    cells.push({
      impl: "@ronomon/reed-solomon (native)",
      encode: () => run(dataBits, all & ~dataBits),
      reconstruct: () => run(all & ~lostBits, lostBits),
      compatible
    })
  }
  const copy = () => {
    const set = next()
    set.shards.slice(0, k).forEach((d, i) => set.copyTarget[i]!.set(d))
  }
  cells.push({ impl: "memory copy (ceiling)", encode: copy, reconstruct: copy, compatible: null })

  for (const cell of cells) {
    const slow = cell.impl.includes("scalar")
    const enc = await measure(dataBytes, cell.encode, slow ? 3 : samples, batchMs)
    const rec = await measure(dataBytes, cell.reconstruct, slow ? 3 : samples, batchMs)
    const row: Row = {
      config: `${k}+${m}`,
      shard: size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`,
      cache,
      impl: cell.impl,
      "encode MB/s": Math.round(enc.median),
      "encode best": Math.round(enc.best),
      "reconstruct MB/s": Math.round(rec.median),
      "reconstruct best": Math.round(rec.best),
      "klauspost-compatible": cell.compatible
    }
    rows.push(row)
    printTable([row])
  }
  return rows
}

/**
 * `--variants`: the kernel alone (shards in its memory, hot cache), 10+4 with
 * 256 KiB shards, across the generator's knobs; the figures behind ADR 0003.
 */
const kernelVariants = async (): Promise<void> => {
  const k = 10
  const m = 4
  const size = 256 * KiB
  const coefficients = encodingMatrix(k, m).data.slice(k * k)
  const variants: ReadonlyArray<Required<SimdOptions> & { readonly note: string }> = [
    { vectors: 1, relaxed: false, rowsPerPass: 1, note: "naive: one row per pass, portable swizzle" },
    { vectors: 1, relaxed: true, rowsPerPass: 1, note: "relaxed swizzle only" },
    { vectors: 1, relaxed: false, rowsPerPass: 4, note: "4 rows per pass only" },
    { vectors: 2, relaxed: false, rowsPerPass: 4, note: "portable swizzle, 32 B steps" },
    { vectors: 1, relaxed: true, rowsPerPass: 4, note: "" },
    { vectors: 2, relaxed: true, rowsPerPass: 2, note: "" },
    { vectors: 2, relaxed: true, rowsPerPass: 4, note: "the default" },
    { vectors: 4, relaxed: true, rowsPerPass: 4, note: "" }
  ]
  const rows: Array<Row> = []
  for (const variant of variants) {
    const kernel = makeSimdKernel(variant)
    if (kernel === undefined) throw new Error("WebAssembly SIMD is not available")
    const arena = kernel.allocateArena(k, k * m * 32, (k + m) * size)
    const shard = (i: number) => new Uint8Array(arena.buffer, arena.tableBytes + i * size, size)
    const inputs = Array.from({ length: k }, (_, i) => {
      const s = shard(i)
      fillPseudoRandom(s, i + 1)
      return s
    })
    const outputs = Array.from({ length: m }, (_, j) => shard(k + j))
    const rate = await measure(k * size, () => kernel.mulMatrix(coefficients, inputs, outputs), 7, 80)
    const row: Row = {
      "vectors/step": variant.vectors,
      "relaxed swizzle": variant.relaxed,
      "rows/pass": variant.rowsPerPass,
      "encode MB/s": Math.round(rate.median),
      best: Math.round(rate.best),
      note: variant.note
    }
    rows.push(row)
    printTable([row])
  }
  const path = saveResult({
    benchmark: "ec-variants",
    scenario:
      "The generated wasm SIMD kernel alone, 10+4 parity from 256 KiB shards already in its memory (hot cache), " +
      "one core, MB/s of data in; median and best of 7 batches of ~80 ms, across vectors per step, " +
      "relaxed vs portable swizzle and output rows per pass over the inputs.",
    rows
  })
  process.stdout.write(`saved ${path}\n`)
}

export async function main(args: ReadonlyArray<string>): Promise<void> {
  if (args.includes("--variants")) return kernelVariants()
  const quick = args.includes("--quick")
  const samples = quick ? 3 : 5
  const batchMs = quick ? 40 : 80
  const configs: ReadonlyArray<readonly [number, number]> = [[4, 2], [10, 4], [16, 4]]
  const sizes = quick ? [256 * KiB] : [256 * KiB, 1 * MiB]
  const ronomon = loadRonomon()
  const rows: Array<Row> = []
  if (typeof ronomon === "string") process.stdout.write(`@ronomon/reed-solomon ${ronomon}\n`)

  for (const [k, m] of configs) {
    for (const size of sizes) {
      for (const cache of ["hot", "cold"] as const) {
        rows.push(...(await measureConfig(k, m, size, cache, ronomon, samples, batchMs)))
      }
    }
  }
  process.stdout.write("\n")
  printTable(rows)
  const path = saveResult({
    benchmark: "ec",
    scenario:
      "Reed-Solomon on one core: MB/s of data shards in (k x shard size per call), median (and best) of " +
      `${samples} timed batches of ~${batchMs} ms. Reconstruct loses min(m, k) data shards and rebuilds them. ` +
      "Baselines in the same run: Cairn's scalar table-loop reference, @ronomon/reed-solomon (native C addon, " +
      "one call in flight) and a plain Uint8Array.prototype.set copy of the k data shards (the ceiling). " +
      "hot: the same shards every call (they sit in L2/L3); cold: calls rotate through " +
      `${COLD_BYTES / MiB} MiB of distinct shard sets, so data streams from memory.`,
    rows
  })
  process.stdout.write(`saved ${path}\n`)
}
