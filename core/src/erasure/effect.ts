/**
 * Effect wrappers over the synchronous codec: the typed errors land in the
 * error channel; anything else thrown (an invariant violation) stays a defect.
 */
import { Effect } from "effect"
import { type Codec, encode, reconstruct, reconstructData, type Shards, verify } from "./codec.ts"
import {
  type ErasureError,
  InvalidCodecParameters,
  ShardCountMismatch,
  ShardSizeMismatch,
  TooFewShards
} from "./errors.ts"

export const isErasureError = (u: unknown): u is ErasureError =>
  u instanceof InvalidCodecParameters ||
  u instanceof ShardCountMismatch ||
  u instanceof ShardSizeMismatch ||
  u instanceof TooFewShards

const lift = <A>(run: () => A): Effect.Effect<A, ErasureError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(run())
    } catch (error) {
      if (isErasureError(error)) return Effect.fail(error)
      throw error
    }
  })

export const encodeEffect = (codec: Codec, shards: Shards) => lift(() => encode(codec, shards))
export const verifyEffect = (codec: Codec, shards: Shards) => lift(() => verify(codec, shards))
export const reconstructEffect = (codec: Codec, shards: Shards) => lift(() => reconstruct(codec, shards))
export const reconstructDataEffect = (codec: Codec, shards: Shards) => lift(() => reconstructData(codec, shards))
