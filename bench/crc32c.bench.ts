/**
 * `npm run bench -- crc32c [--mib N]`: CRC32C throughput of core's pure-JS
 * slicing-by-16 against the naive bytewise table loop (the baseline), the
 * other implementations installable from npm, and Node's native zlib CRC-32
 * (a different polynomial, shown as the native reference point).
 *
 * Three shapes: one large buffer (bulk: snapshots, shards), many 4 KiB
 * buffers (WAL records and sectors) and many 64-byte ones (frame headers,
 * small messages), where per-call overhead matters. The row "cairn Crc32c,
 * native layer" is what production binds (runtime-node's NativeCrc32cLive:
 * the addon from 256 bytes, the pure loop below).
 *
 * Then the object data path with each (crc32c-data-path.ts; `--rounds N`,
 * default 7): CPU per 16 MiB put and get through core's ObjectData, pure
 * (the baseline) against native; saved as `crc32c-data-path-*.json`.
 */
import { crc32c as awsCrc32c } from "@aws-crypto/crc32c"
import { crc32c as nodeRsCrc32c } from "@node-rs/crc32"
import { crc32c, crc32cBytewise } from "@cairn/core"
import { nativeCrc32c } from "@cairn/runtime-node/checksum/native-crc32c"
import CRC32C from "crc-32/crc32c.js"
import { createRequire } from "node:module"
import { crc32 as zlibCrc32 } from "node:zlib"
import { dataPathRows } from "./crc32c-data-path.ts"
import { printTable, saveResult } from "./result.ts"

const require = createRequire(import.meta.url)

interface Impl {
  readonly name: string
  readonly kind: string
  readonly fn: (data: Uint8Array) => number
  /** False for a different polynomial (not checked against the CRC32C vector). */
  readonly crc32c: boolean
}

const loadSse4 = (): Impl | undefined => {
  try {
    const sse4 = require("sse4_crc32") as { calculate: (data: Uint8Array) => number }
    return { name: "sse4_crc32", kind: "native (SSE4.2), not usable from core", fn: (d) => sse4.calculate(d) >>> 0, crc32c: true }
  } catch (error) {
    // An optional dependency: its native addon needs a C compiler at `npm ci`, which Cairn itself does not.
    const missing = typeof error === "object" && error !== null && "code" in error && error.code === "MODULE_NOT_FOUND"
    process.stdout.write(`sse4_crc32 ${missing ? "is not installed (an optional dependency whose native addon needs a C compiler at `npm ci`)" : `cannot be loaded (${String(error).split("\n")[0]})`}: its row is left out\n`)
    return undefined
  }
}

const measure = (fn: (data: Uint8Array) => number, buffers: ReadonlyArray<Uint8Array>, minBytes: number): number => {
  let bytes = 0
  let sink = 0
  const total = buffers.reduce((n, b) => n + b.length, 0)
  const start = process.hrtime.bigint()
  while (bytes < minBytes) {
    for (const b of buffers) sink ^= fn(b)
    bytes += total
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  if (sink === 0.5) process.stdout.write("") // keep the result alive
  return bytes / seconds / 1e9
}

export async function main(args: ReadonlyArray<string>): Promise<void> {
  const mibArg = args.indexOf("--mib")
  const mib = mibArg >= 0 ? Number(args[mibArg + 1]) : 64
  const big = new Uint8Array(mib * 1024 * 1024)
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24
  const small = Array.from({ length: 1024 }, (_, k) => big.subarray(k * 4096, (k + 1) * 4096))
  const tiny = Array.from({ length: 16384 }, (_, k) => big.subarray(k * 64, (k + 1) * 64))

  const impls: Array<Impl> = [
    { name: "naive bytewise table (baseline)", kind: "pure JS", fn: crc32cBytewise, crc32c: true },
    { name: "cairn slicing-by-16", kind: "pure JS (core)", fn: (d) => crc32c(d), crc32c: true },
    { name: "crc-32/crc32c", kind: "pure JS", fn: (d) => CRC32C.buf(d, 0) >>> 0, crc32c: true },
    { name: "@aws-crypto/crc32c", kind: "pure JS", fn: (d) => awsCrc32c(d), crc32c: true },
    { name: "@node-rs/crc32", kind: "native (napi), not usable from core", fn: (d) => nodeRsCrc32c(d), crc32c: true },
    { name: "cairn Crc32c, native layer", kind: `runtime-node, production (${nativeCrc32c.implementation})`, fn: (d) => nativeCrc32c.crc32c(d), crc32c: true },
    ...[loadSse4()].filter((x): x is Impl => x !== undefined),
    { name: "node:zlib crc32 (CRC-32, not C)", kind: "native reference", fn: (d) => zlibCrc32(d), crc32c: false }
  ]

  const check = new TextEncoder().encode("123456789")
  for (const impl of impls) {
    if (impl.crc32c && impl.fn(check) !== 0xe3069283) throw new Error(`${impl.name} fails the check value`)
    if (impl.crc32c && impl.fn(big) !== crc32cBytewise(big)) throw new Error(`${impl.name} disagrees on the bulk buffer`)
  }

  const baseline = { bulk: 0, small: 0 }
  const rows = impls.map((impl) => {
    const slow = impl.name.startsWith("@aws") ? 0.05 : 1
    measure(impl.fn, [big], big.length * slow) // warm-up
    const bulk = Math.max(measure(impl.fn, [big], 3 * big.length * slow), measure(impl.fn, [big], 3 * big.length * slow))
    const smallRate = Math.max(measure(impl.fn, small, 64 * 1024 * 1024 * slow), measure(impl.fn, small, 64 * 1024 * 1024 * slow))
    const tinyRate = Math.max(measure(impl.fn, tiny, 16 * 1024 * 1024 * slow), measure(impl.fn, tiny, 16 * 1024 * 1024 * slow))
    if (baseline.bulk === 0) {
      baseline.bulk = bulk
      baseline.small = smallRate
    }
    return {
      implementation: impl.name,
      kind: impl.kind,
      [`GB/s ${mib} MiB`]: Number(bulk.toFixed(3)),
      "GB/s 4 KiB": Number(smallRate.toFixed(3)),
      "GB/s 64 B": Number(tinyRate.toFixed(3)),
      "x baseline (bulk)": Number((bulk / baseline.bulk).toFixed(2))
    }
  })
  printTable(rows)
  const path = saveResult({
    benchmark: "crc32c",
    scenario: `CRC32C throughput on one ${mib} MiB buffer, on 1024 buffers of 4 KiB and on 16384 of 64 B; baseline: the naive bytewise table loop, measured in the same run`,
    rows
  })
  process.stdout.write(`saved ${path}\n`)

  const roundsArg = args.indexOf("--rounds")
  const rounds = roundsArg >= 0 ? Number(args[roundsArg + 1]) : 7
  if (!Number.isInteger(rounds) || rounds <= 0) throw new Error("crc32c bench: --rounds takes a positive integer")
  const dataRows = await dataPathRows(rounds)
  process.stdout.write("\nobject data path, one node (16 MiB body in 1 MiB shards, in-memory shard images; CPU per op, median of rounds):\n")
  printTable(dataRows)
  const dataPath = saveResult({
    benchmark: "crc32c-data-path",
    scenario:
      `CPU (user + system) per put and per get of a 16 MiB body through core's ObjectData as on a one-node server (1 MiB shards, no parity), ` +
      `over an in-memory transfer that encodes and decodes the shard store's image; median of ${rounds} alternating rounds. ` +
      `Baseline: core's pure CRC32C, measured in the same run; the other row is runtime-node's native Crc32c layer.`,
    rows: dataRows
  })
  process.stdout.write(`saved ${dataPath}\n`)
}
