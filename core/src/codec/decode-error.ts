/**
 * The one error every binary decoder of Cairn throws on damaged or truncated
 * bytes (Raft messages, KV commands, object metadata, frames). It keeps the
 * name it was born with in `raft/codec.ts`: callers match on its tag.
 */
import { Data } from "effect"

export class RaftDecodeError extends Data.TaggedError("RaftDecodeError")<{ readonly message: string }> {}
