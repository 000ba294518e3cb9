/** The one failure of Raft's storage, and how disk, WAL and snapshot failures become it. */
import { Data } from "effect"

/** Storage failed in a way that needs the node to recover from disk again (fail-stop). */
export class RaftStorageError extends Data.TaggedError("RaftStorageError")<{
  readonly op: string
  readonly message: string
}> {}

/** Maps a tagged failure of `op` to a `RaftStorageError` naming it. */
export const storageError = (op: string) => (e: { readonly _tag: string; readonly message?: string }) =>
  new RaftStorageError({ op, message: `${e._tag}${e.message === undefined ? "" : `: ${e.message}`}` })
