/**
 * The fast kernel: drives the generated WebAssembly SIMD module (see
 * `wasm-kernel-module.ts`). WebAssembly code sees only its own linear memory,
 * so shards that live elsewhere are streamed through a scratch memory in
 * cache-sized chunks; shards allocated with `allocateArena` already live in a
 * kernel's memory and are processed in place. Bytes past the last whole
 * vector go through the scalar kernel.
 *
 * Everything here is deterministic computation: WebAssembly is compiled from
 * bytes generated in this process, and no relaxed-SIMD instruction is used
 * where its result could depend on the platform.
 */
import { assert } from "../invariant/invariant.ts"
import { MUL_TABLE } from "./galois.ts"
import { mulMatrixScalar } from "./scalar.ts"
import { kernelModuleBytes, type KernelShape, simdProbeBytes } from "./wasm-kernel-module.ts"

// The slice of the WebAssembly JS API used here (not in this project's `lib`).
interface WasmModuleHandle {
  readonly __wasmModule?: never
}
interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(deltaPages: number): number
}
interface WasmNamespace {
  validate(bytes: Uint8Array): boolean
  readonly Module: new (bytes: Uint8Array) => WasmModuleHandle
  readonly Instance: new (
    module: WasmModuleHandle,
    imports: Record<string, Record<string, unknown>>
  ) => { readonly exports: Record<string, unknown> }
  readonly Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory
}
declare const WebAssembly: WasmNamespace | undefined

type KernelFunction = (...args: ReadonlyArray<number>) => void

const PAGE = 65536
/** Default for the most output rows per pass over the inputs: each input vector is loaded once per pass. */
export const MAX_ROWS_PER_PASS = 4
/** Target bytes of inputs plus outputs per chunk: stays within a 1 MiB L2 with room for the rest. */
const CHUNK_BUDGET = 384 * 1024

export interface SimdSupport {
  readonly relaxed: boolean
}

const detect = (): SimdSupport | undefined => {
  if (typeof WebAssembly === "undefined") return undefined
  try {
    if (!WebAssembly.validate(simdProbeBytes(false))) return undefined
    return { relaxed: WebAssembly.validate(simdProbeBytes(true)) }
  } catch {
    return undefined
  }
}

/** What this runtime offers: `undefined` where WebAssembly SIMD is unavailable. */
export const simdSupport: SimdSupport | undefined = detect()

export interface SimdOptions {
  /** 16-byte vectors per input per loop step. */
  readonly vectors?: number
  /** Use `i8x16.relaxed_swizzle` when the runtime has it (default true). */
  readonly relaxed?: boolean
  /** Most output rows per pass (default `MAX_ROWS_PER_PASS`). */
  readonly rowsPerPass?: number
}

/** A kernel module instantiated on one memory. */
interface Instance {
  readonly memory: WasmMemory
  /** `functions[r - 1]` produces r rows per pass. */
  readonly functions: ReadonlyArray<KernelFunction>
}

/**
 * Memory holding shards for zero-copy coding: `tableBytes` reserved at the
 * start for multiplication tables, then the shards.
 */
export interface Arena {
  readonly buffer: ArrayBuffer
  readonly inputs: number
  readonly tableBytes: number
  readonly instance: Instance
}

export interface SimdKernel {
  readonly name: "wasm-simd"
  readonly shape: (inputs: number) => KernelShape
  /** As `mulMatrixScalar` over the whole shards. */
  readonly mulMatrix: (
    coefficients: Uint8Array,
    inputs: ReadonlyArray<Uint8Array>,
    outputs: ReadonlyArray<Uint8Array>
  ) => void
  /** A memory for `inputs`-input coding with `tableBytes` of tables and `shardBytes` of shards. */
  readonly allocateArena: (inputs: number, tableBytes: number, shardBytes: number) => Arena
}

/**
 * The split-nibble tables for a coefficient matrix, laid out pass by pass as
 * the kernel reads them: for the pass covering rows [p, p + r), the pair for
 * input i and row p + j is at `passStart + (i·r + j)·32`.
 */
export const nibbleTables = (
  coefficients: Uint8Array,
  inputs: number,
  outputs: number,
  rowsPerPass: number = MAX_ROWS_PER_PASS
): Uint8Array => {
  const tables = new Uint8Array(inputs * outputs * 32)
  let at = 0
  for (let p = 0; p < outputs; p += rowsPerPass) {
    const rows = Math.min(rowsPerPass, outputs - p)
    for (let i = 0; i < inputs; i++) {
      for (let j = 0; j < rows; j++) {
        const c = coefficients[(p + j) * inputs + i]!
        const row = c << 8
        for (let n = 0; n < 16; n++) {
          tables[at + n] = MUL_TABLE[row | n]!
          tables[at + 16 + n] = MUL_TABLE[row | (n << 4)]!
        }
        at += 32
      }
    }
  }
  return tables
}

/** The SIMD kernel, or `undefined` where WebAssembly SIMD is unavailable. */
export const makeSimdKernel = (options: SimdOptions = {}): SimdKernel | undefined => {
  const support = simdSupport
  if (support === undefined || typeof WebAssembly === "undefined") return undefined
  const wasm = WebAssembly
  const vectors = options.vectors ?? 2
  const relaxed = (options.relaxed ?? true) && support.relaxed
  const step = 16 * vectors
  const rowsPerPass = options.rowsPerPass ?? MAX_ROWS_PER_PASS

  const shape = (inputs: number): KernelShape => ({ inputs, maxRows: rowsPerPass, vectors, relaxed })
  const modules = new Map<number, WasmModuleHandle>()
  const moduleFor = (inputs: number): WasmModuleHandle => {
    let module = modules.get(inputs)
    if (module === undefined) {
      module = new wasm.Module(kernelModuleBytes(shape(inputs)))
      modules.set(inputs, module)
    }
    return module
  }
  const instantiate = (inputs: number, memory: WasmMemory): Instance => {
    const instance = new wasm.Instance(moduleFor(inputs), { e: { m: memory } })
    const functions = Array.from({ length: rowsPerPass }, (_, j) => {
      const f = instance.exports[`m${j + 1}`]
      assert(typeof f === "function", "kernel module must export its functions")
      return f as KernelFunction
    })
    return { memory, functions }
  }

  const scratch = new Map<number, Instance>()
  const scratchFor = (inputs: number, bytes: number): Instance => {
    let instance = scratch.get(inputs)
    if (instance === undefined) {
      instance = instantiate(inputs, new wasm.Memory({ initial: Math.ceil(bytes / PAGE) }))
      scratch.set(inputs, instance)
    } else if (instance.memory.buffer.byteLength < bytes) {
      instance.memory.grow(Math.ceil((bytes - instance.memory.buffer.byteLength) / PAGE))
    }
    return instance
  }

  const arenas = new WeakMap<ArrayBuffer, Arena>()
  const tableCache = new WeakMap<Uint8Array, Uint8Array>()
  const tablesFor = (coefficients: Uint8Array, inputs: number, outputs: number): Uint8Array => {
    let tables = tableCache.get(coefficients)
    if (tables === undefined || tables.length !== inputs * outputs * 32) {
      tables = nibbleTables(coefficients, inputs, outputs, rowsPerPass)
      tableCache.set(coefficients, tables)
    }
    return tables
  }

  /** Runs every pass over `length` bytes at the given addresses. */
  const runPasses = (
    instance: Instance,
    tablesAt: number,
    length: number,
    inputAddresses: ReadonlyArray<number>,
    outputAddresses: ReadonlyArray<number>
  ): void => {
    const k = inputAddresses.length
    for (let p = 0; p < outputAddresses.length; p += rowsPerPass) {
      const rows = Math.min(rowsPerPass, outputAddresses.length - p)
      const args = [tablesAt + p * k * 32, length, ...inputAddresses, ...outputAddresses.slice(p, p + rows)]
      instance.functions[rows - 1]!(...args)
    }
  }

  const chunkBytes = (k: number, o: number): number => {
    const raw = Math.floor(CHUNK_BUDGET / (k + o) / step) * step
    return Math.max(step * 64, Math.min(raw, 64 * 1024))
  }

  const inArena = (inputs: ReadonlyArray<Uint8Array>, outputs: ReadonlyArray<Uint8Array>): Arena | undefined => {
    const arena = arenas.get(inputs[0]!.buffer as ArrayBuffer)
    if (arena === undefined || arena.inputs !== inputs.length) return undefined
    if (arena.tableBytes < inputs.length * outputs.length * 32) return undefined
    for (const shard of inputs) if (shard.buffer !== arena.buffer) return undefined
    for (const shard of outputs) if (shard.buffer !== arena.buffer) return undefined
    return arena
  }

  const mulMatrix = (
    coefficients: Uint8Array,
    inputs: ReadonlyArray<Uint8Array>,
    outputs: ReadonlyArray<Uint8Array>
  ): void => {
    const k = inputs.length
    const o = outputs.length
    if (o === 0) return
    assert(k >= 1 && coefficients.length === k * o, "mulMatrix: coefficients must be outputs × inputs")
    const length = inputs[0]!.length
    const bulk = length - (length % step)
    if (bulk > 0) {
      const tables = tablesFor(coefficients, k, o)
      const arena = inArena(inputs, outputs)
      if (arena !== undefined) {
        // Zero-copy: the shards already live in the kernel's memory.
        new Uint8Array(arena.buffer, 0, tables.length).set(tables)
        runPasses(
          arena.instance,
          0,
          bulk,
          inputs.map((s) => s.byteOffset),
          outputs.map((s) => s.byteOffset)
        )
      } else {
        const chunk = chunkBytes(k, o)
        const tableBytes = Math.ceil(tables.length / 64) * 64
        const inputBase = tableBytes
        const outputBase = inputBase + k * chunk
        const instance = scratchFor(k, outputBase + o * chunk)
        const memory = new Uint8Array(instance.memory.buffer)
        memory.set(tables, 0)
        const inputAddresses = inputs.map((_, i) => inputBase + i * chunk)
        const outputAddresses = outputs.map((_, j) => outputBase + j * chunk)
        for (let offset = 0; offset < bulk; offset += chunk) {
          const n = Math.min(chunk, bulk - offset)
          for (let i = 0; i < k; i++) memory.set(inputs[i]!.subarray(offset, offset + n), inputAddresses[i]!)
          runPasses(instance, 0, n, inputAddresses, outputAddresses)
          for (let j = 0; j < o; j++) {
            outputs[j]!.set(memory.subarray(outputAddresses[j]!, outputAddresses[j]! + n), offset)
          }
        }
      }
    }
    if (bulk < length) mulMatrixScalar(coefficients, inputs, outputs, bulk, length)
  }

  const allocateArena = (inputs: number, tableBytes: number, shardBytes: number): Arena => {
    const reserved = Math.ceil(tableBytes / 64) * 64
    const memory = new wasm.Memory({ initial: Math.max(1, Math.ceil((reserved + shardBytes) / PAGE)) })
    const arena: Arena = { buffer: memory.buffer, inputs, tableBytes: reserved, instance: instantiate(inputs, memory) }
    arenas.set(memory.buffer, arena)
    return arena
  }

  return { name: "wasm-simd", shape, mulMatrix, allocateArena }
}
