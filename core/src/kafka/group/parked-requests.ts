/**
 * JoinGroup and SyncGroup requests parked at a group's barrier: each gets
 * a waiter id the state machine refers to and a Deferred its handler
 * awaits; a transition's replies (or an error, when the group is dropped)
 * resolve them by id. A request whose fiber is interrupted (the client
 * went away) leaves the table, and a later reply to it is dropped.
 */
import { Deferred, Effect } from "effect"
import { InvariantViolation } from "../../invariant/invariant.ts"
import type { ErrorCode } from "./error-codes.ts"
import { joinError, syncError, type JoinResult, type Reply, type SyncResult } from "./step.ts"

type Waiter =
  | { readonly kind: "join"; readonly memberId: string; readonly deferred: Deferred.Deferred<JoinResult> }
  | { readonly kind: "sync"; readonly deferred: Deferred.Deferred<SyncResult> }

/** A reply, or an error for whatever kind of request the waiter is. */
export type Answer = Reply | { readonly kind: "error"; readonly waiter: number; readonly code: ErrorCode }

export interface Parked<A> {
  readonly id: number
  /** The answer, once a transition gives it. */
  readonly result: Effect.Effect<A>
  /** Forgets a waiter whose request was answered without parking. */
  readonly cancel: Effect.Effect<void>
}

export const makeParkedRequests = () => {
  const waiters = new Map<number, Waiter>()
  let nextId = 1

  const park = <A>(waiter: (deferred: Deferred.Deferred<A>) => Waiter, deferred: Deferred.Deferred<A>): Parked<A> => {
    const id = nextId++
    waiters.set(id, waiter(deferred))
    const cancel = Effect.sync(() => waiters.delete(id))
    return { id, result: Effect.onInterrupt(Deferred.await(deferred), () => cancel), cancel: Effect.asVoid(cancel) }
  }

  const join = (memberId: string): Parked<JoinResult> =>
    park((deferred) => ({ kind: "join", memberId, deferred }), Deferred.makeUnsafe<JoinResult>())

  const sync = (): Parked<SyncResult> => park((deferred) => ({ kind: "sync", deferred }), Deferred.makeUnsafe<SyncResult>())

  const answer = (a: Answer): Effect.Effect<void> =>
    Effect.suspend(() => {
      const w = waiters.get(a.waiter)
      if (w === undefined) return Effect.void // its request was interrupted (the client went away)
      waiters.delete(a.waiter)
      // A waiter is answered with a reply of its own kind, or with an error in its kind's shape.
      if (w.kind === "join") return Deferred.succeed(w.deferred, a.kind === "join" ? a.result : joinError(w.memberId, codeOf(a)))
      return Deferred.succeed(w.deferred, a.kind === "sync" ? a.result : syncError(codeOf(a)))
    }).pipe(Effect.asVoid)

  return { join, sync, answer, size: (): number => waiters.size }
}

/** The error a mismatched reply stands for: the machine never sends one, so it is a bug if it does. */
const codeOf = (a: Answer): ErrorCode => {
  if (a.kind === "error") return a.code
  throw new InvariantViolation(`a ${a.kind} reply to a waiter of the other kind`)
}
