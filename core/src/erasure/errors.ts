/**
 * Typed failures of the erasure codec. All are caller mistakes or lost data
 * that the caller must handle (fetch more shards, reject a request); none is
 * an internal bug, which would be an `InvariantViolation` instead.
 */
import { Data } from "effect"

/** The shard counts are outside what the codec supports. */
export class InvalidCodecParameters extends Data.TaggedError("InvalidCodecParameters")<{
  readonly dataShards: number
  readonly parityShards: number
  readonly message: string
}> {}

/** The shard array does not have exactly `dataShards + parityShards` entries. */
export class ShardCountMismatch extends Data.TaggedError("ShardCountMismatch")<{
  readonly expected: number
  readonly actual: number
  readonly message: string
}> {}

/** Shards given to one call differ in length (or a needed shard is empty). */
export class ShardSizeMismatch extends Data.TaggedError("ShardSizeMismatch")<{
  readonly index: number
  readonly expected: number
  readonly actual: number
  readonly message: string
}> {}

/** Fewer than `dataShards` shards survive (or a required shard is missing): the data cannot be rebuilt. */
export class TooFewShards extends Data.TaggedError("TooFewShards")<{
  readonly required: number
  readonly available: number
  readonly message: string
}> {}

export type ErasureError = InvalidCodecParameters | ShardCountMismatch | ShardSizeMismatch | TooFewShards
