/**
 * A node's storage, reopened after a storage failure inside one process
 * incarnation, as `cairn server` is restarted by its supervisor.
 *
 * Storage fails stop (a failed write or fsync leaves the file's state unknown):
 * the node's `run` fails with a `RaftStorageError` or `ShardReadError`, and
 * the program opens everything again from disk after a pause. Each reopening
 * after the first draws from a Random stream of its own. A restarted process
 * gets new randomness in production; reusing the incarnation's stream would
 * repeat every draw of the previous opening, and Raft's read contexts rely on
 * an opening never repeating them (KV seed 2774: a late answer to an old
 * read completed a new one; log seed 82 the same for request keys). The
 * first opening keeps the incarnation's stream, so a seed without storage
 * failures runs exactly as before.
 */
import { Clock, Random } from "@cairn/core"
import type { RaftStorageError } from "@cairn/core/raft/storage"
import type { ShardReadError } from "@cairn/core/shard-store/shard-store"
import { Effect, type Scope } from "effect"

/** How long a node waits before reopening failed storage (simulated ms). */
const REOPEN_PAUSE_MS = 100

type StorageFailure = RaftStorageError | ShardReadError

const isStorageFailure = <E>(e: E): e is Extract<E, StorageFailure> =>
  typeof e === "object" && e !== null && "_tag" in e && (e._tag === "RaftStorageError" || e._tag === "ShardReadError")

/** Opens and runs `open` for ever, reopening it after each storage failure; other failures pass through. */
export const reopenAfterStorageFailure = <E, R>(open: Effect.Effect<never, E, R | Scope.Scope>) =>
  Effect.gen(function*() {
    const random = yield* Random
    const clock = yield* Clock
    for (let opening = 0;; opening++) {
      const stream = opening === 0 ? random : random.split(`storage-opening/${opening}`)
      yield* Effect.scoped(open).pipe(
        Effect.provideService(Random, stream),
        Effect.catchIf((e: E) => isStorageFailure(e), () => Effect.void)
      )
      yield* clock.sleep(REOPEN_PAUSE_MS)
    }
  })
