/**
 * A Kafka connection's received bytes, split into request frames (core's
 * `frame.ts`). A large frame arrives in many chunks: they are kept apart
 * and joined once the frame is whole, not copied again with every chunk.
 */
import { nextFrame } from "@cairn/core/kafka/protocol/frame"
import type { DecodeLimits } from "@cairn/core/kafka/protocol/limits"
import { concatBytes } from "@cairn/core/codec/concat"
import { Result } from "effect"

export class FrameAssembler {
  private readonly limits: DecodeLimits
  private readonly chunks: Array<Uint8Array> = []
  private buffered = 0
  /** How many bytes the next frame needs in all (0: unknown until its size is read). */
  private needed = 0

  constructor(limits: DecodeLimits) {
    this.limits = limits
  }

  /** The frame bodies `chunk` completes (views, in order), or why the stream cannot be framed. */
  push(chunk: Uint8Array): Result.Result<ReadonlyArray<Uint8Array>, string> {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    if (this.buffered < this.needed) return Result.succeed([])
    const joined = this.chunks.length === 1 ? this.chunks[0]! : concatBytes(this.chunks, this.buffered)
    this.chunks.length = 0
    const frames: Array<Uint8Array> = []
    let at = 0
    for (;;) {
      const split = nextFrame(joined, at, this.limits)
      if (Result.isFailure(split)) return Result.fail(split.failure.message)
      if (split.success._tag === "NeedMore") {
        this.needed = joined.length - at + split.success.bytes
        break
      }
      frames.push(split.success.body)
      at = split.success.next
    }
    if (at < joined.length) this.chunks.push(joined.subarray(at))
    this.buffered = joined.length - at
    return Result.succeed(frames)
  }
}
