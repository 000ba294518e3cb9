/**
 * The Crc32c service: CRC32C on the data path (object bodies and shards, S3
 * payload checksums, node-to-node frames), so that a runtime can bind a
 * faster implementation there while core stays pure.
 *
 * Its default is core's own slicing-by-16 (crc32c.ts): the simulator and the
 * test runtime provide nothing and get it. Production binds the native one
 * (runtime-node/src/checksum/native-crc32c.ts, ADR 0004). Every binding must
 * return exactly what the pure functions return for every input, sub-range
 * and seed: the values are stored and compared across nodes and versions, so
 * the choice is one of speed, never of format.
 *
 * The WAL, Raft's hard state, snapshots, the KV state machine and the log do
 * not read this service; they call crc32c.ts directly (ADR 0004 says why).
 *
 * A module reads the service once, when it is built, and passes the shape
 * down: its functions are plain and synchronous, made for tight loops.
 */
import { Context, Effect, Layer } from "effect"
import { crc32c, crc32cUpdate } from "./crc32c.ts"

export interface Crc32cShape {
  /** Which implementation this is ("pure", "native"): for the startup log and tests. */
  readonly implementation: string
  /** Extends `crc` (the CRC32C of earlier bytes, 0 for none) over `data[start, end)`; as `crc32cUpdate`. */
  readonly crc32cUpdate: (crc: number, data: Uint8Array, start?: number, end?: number) => number
  /** The CRC32C of `data[start, end)` as an unsigned 32-bit integer; as `crc32c`. */
  readonly crc32c: (data: Uint8Array, start?: number, end?: number) => number
}

/** Core's own implementation (crc32c.ts). */
export const pureCrc32c: Crc32cShape = { implementation: "pure", crc32c, crc32cUpdate }

/**
 * A reference (a service with a default) rather than a required service: the
 * pure default needs no wiring in the simulator or in the many tests that
 * build object nodes, and providing nothing there leaves every simulated
 * run's Effect operations, and so its trace, exactly as before.
 */
export const Crc32c: Context.Reference<Crc32cShape> = Context.Reference<Crc32cShape>("cairn/checksum/Crc32c", {
  defaultValue: () => pureCrc32c
})

/** The default binding, spelled out: core's pure implementation. */
export const Crc32cPure: Layer.Layer<never> = Layer.succeed(Crc32c, pureCrc32c)

/**
 * Reads the service `key` and the checksum together, in as many Effect
 * operations as reading `key` alone: the simulator's scheduler counts
 * operations (docs/style.md), so a module that starts reading the checksum
 * this way leaves every simulated run as it was.
 */
export const withCrc32c = <I, S>(key: Context.Key<I, S>): Effect.Effect<readonly [S, Crc32cShape], never, I> =>
  Effect.contextWith((context: Context.Context<I>) => Effect.succeed([Context.get(context, key), Context.get(context, Crc32c)] as const))
