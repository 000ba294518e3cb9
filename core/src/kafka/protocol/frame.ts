/**
 * Kafka's framing on a TCP stream: every request and response is an int32
 * size followed by that many bytes. `nextFrame` splits a buffer of received
 * bytes: a complete frame, a note that more bytes are needed, or a
 * `KafkaDecodeError` for a negative size or one past `maxFrameBytes` — the
 * listener closes the connection then, since nothing after it can be framed.
 */
import { Result } from "effect"
import type { KafkaDecodeError } from "./errors.ts"
import type { DecodeLimits } from "./limits.ts"
import { decodeFault } from "./reader.ts"

export const FRAME_SIZE_BYTES = 4

export type FrameSplit =
  | { readonly _tag: "Frame"; readonly body: Uint8Array; readonly next: number }
  | { readonly _tag: "NeedMore"; readonly bytes: number }

/** The frame that starts at `at` in `buffer`, or how many more bytes it needs. The body is a view, not a copy. */
export const nextFrame = (buffer: Uint8Array, at: number, limits: DecodeLimits): Result.Result<FrameSplit, KafkaDecodeError> => {
  const available = buffer.length - at
  if (available < FRAME_SIZE_BYTES) return Result.succeed({ _tag: "NeedMore", bytes: FRAME_SIZE_BYTES - available })
  const size = new DataView(buffer.buffer, buffer.byteOffset + at, FRAME_SIZE_BYTES).getInt32(0)
  if (size < 0) return Result.fail(decodeFault("bad-length", `frame size ${size} is negative`))
  if (size > limits.maxFrameBytes) return Result.fail(decodeFault("bad-length", `frame size ${size} exceeds the limit ${limits.maxFrameBytes}`))
  const end = at + FRAME_SIZE_BYTES + size
  if (end > buffer.length) return Result.succeed({ _tag: "NeedMore", bytes: end - buffer.length })
  return Result.succeed({ _tag: "Frame", body: buffer.subarray(at + FRAME_SIZE_BYTES, end), next: end })
}

/** Prefixes `body` with its int32 size. */
export const frameOf = (body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(FRAME_SIZE_BYTES + body.length)
  new DataView(out.buffer).setInt32(0, body.length)
  out.set(body, FRAME_SIZE_BYTES)
  return out
}
