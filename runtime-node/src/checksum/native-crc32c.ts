/**
 * The Crc32c service on `@node-rs/crc32` (SSE4.2 / ARMv8 CRC instructions
 * through napi): 4–6× core's pure slicing-by-16 on large buffers (ADR 0004).
 * The production server binds it; the simulator and the test runtime keep
 * the pure default.
 *
 * Same contract as core's `crc32cUpdate`: the addon's `initialState` is the
 * finished CRC of the earlier bytes (it un-inverts and re-inverts it), so a
 * running seed composes the same way, and a sub-range is passed as a
 * `subarray` view (no copy). Below `NATIVE_FROM_BYTES` the pure loop is
 * faster than the napi call itself (frame headers, small messages), so
 * short ranges stay in JavaScript; both give the same value.
 *
 * The addon comes from a per-platform optional package; where it is absent
 * (an unsupported platform, an install with --omit=optional) the layer
 * binds the pure implementation and says why in `implementation`, which the
 * server logs at startup.
 */
import { Crc32c, type Crc32cShape, pureCrc32c } from "@cairn/core/checksum/crc32c-service"
import { Layer } from "effect"
import { createRequire } from "node:module"

type NativeCrc32c = (input: Uint8Array, initialState?: number) => number

/**
 * Ranges shorter than this use the pure loop. Measured on this machine
 * (2 shared cores, Node 24): a napi call costs about 1 µs, the pure loop
 * breaks even with it between 128 and 512 bytes.
 */
export const NATIVE_FROM_BYTES = 256

/** Loads the addon's `crc32c`, or the reason it cannot be loaded. */
const loadNative = (): NativeCrc32c | Error => {
  try {
    const require = createRequire(import.meta.url)
    const addon = require("@node-rs/crc32") as { readonly crc32c?: unknown }
    return typeof addon.crc32c === "function" ? (addon.crc32c as NativeCrc32c) : new Error("@node-rs/crc32 has no crc32c export")
  } catch (e) {
    return new Error(`@node-rs/crc32 not loadable (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`)
  }
}

/** The shape over a loaded addon function (exported for the tests, which check it against the pure one). */
export const crc32cOver = (native: NativeCrc32c): Crc32cShape => {
  const pure = pureCrc32c.crc32cUpdate
  const crc32cUpdate = (crc: number, data: Uint8Array, start = 0, end = data.length): number => {
    if (end - start < NATIVE_FROM_BYTES) return pure(crc, data, start, end)
    return native(start === 0 && end === data.length ? data : data.subarray(start, end), crc >>> 0)
  }
  return {
    implementation: "native",
    crc32cUpdate,
    crc32c: (data, start = 0, end = data.length) => crc32cUpdate(0, data, start, end)
  }
}

const loaded = loadNative()

/** The native implementation, or the pure one (with the reason in `implementation`) where the addon is missing. */
export const nativeCrc32c: Crc32cShape =
  loaded instanceof Error ? { ...pureCrc32c, implementation: `pure (native unavailable: ${loaded.message})` } : crc32cOver(loaded)

export const NativeCrc32cLive: Layer.Layer<never> = Layer.succeed(Crc32c, nativeCrc32c)
