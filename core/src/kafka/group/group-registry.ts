/**
 * The driver of the group state machines on one coordinator: the groups it
 * has loaded, one lock per group (a group's transitions run one at a time,
 * each with the record write it asks for), the waiters of parked JoinGroup
 * and SyncGroup requests, and the timer that expires sessions and barriers.
 *
 * A transition runs as: read the clock, apply it to the group, check the
 * group's invariants, write the group's record if it changed (a
 * compare-and-set on the revision loaded or last written), and only then
 * answer the waiters it answered. If the record cannot be written, the
 * group is dropped from memory and every request waiting on it is answered
 * with an error telling the client to find the coordinator again; the next
 * request loads the group as the KV has it. So the group in memory is
 * always the KV's record plus transitions not yet needing a write.
 */
import { Effect, Result, Semaphore } from "effect"
import type { ClockShape } from "../../clock/clock.ts"
import { COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, type ErrorCode } from "./error-codes.ts"
import { tick } from "./expiry.ts"
import { checkGroup, isVacant, type Group, type GroupConfig } from "./group.ts"
import { loadGroup, recordOf } from "./group-record.ts"
import type { GroupStore, Revision } from "./group-store.ts"
import { makeParkedRequests } from "./parked-requests.ts"
import { newStep, type Reply, type Step } from "./step.ts"

interface Entry {
  readonly lock: Semaphore.Semaphore
  users: number
  loaded: boolean
  group: Group | undefined
  revision: Revision
}

export type RunOutcome<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly code: ErrorCode }

/** A group held under its lock, as a handler sees it. */
export interface GroupSlot {
  /** The loaded group, or undefined if the KV has none (and no request created it). */
  readonly group: Group | undefined
  /** The revision of the group's record (to delete it). */
  readonly revision: Revision
  /** Applies a transition to `group` (the loaded one, or a new one it adopts), persisting and answering as above. */
  readonly run: <A>(group: Group, transition: (g: Group, step: Step) => A) => Effect.Effect<RunOutcome<A>>
  /** Drops the group from memory (deleted, or no longer this node's); its parked requests get `code`. */
  readonly drop: (code: ErrorCode) => Effect.Effect<void>
}

export interface RegistryDeps {
  readonly store: GroupStore
  readonly config: GroupConfig
  readonly clock: ClockShape
}

export const makeGroupRegistry = (deps: RegistryDeps) => {
  const entries = new Map<string, Entry>()
  const parked = makeParkedRequests()
  const { answer } = parked

  /** Drops a group from memory; its parked requests (and the undelivered `replies`) get `code`. */
  const unload = (entry: Entry, code: ErrorCode, replies: ReadonlyArray<Reply>): Effect.Effect<void> =>
    Effect.gen(function*() {
      const parked = replies.map((r) => r.waiter)
      for (const m of entry.group?.members.values() ?? []) {
        if (m.joinWaiter !== undefined) parked.push(m.joinWaiter)
        if (m.syncWaiter !== undefined) parked.push(m.syncWaiter)
      }
      entry.group = undefined
      entry.loaded = false
      entry.revision = "absent"
      for (const waiter of parked) yield* answer({ kind: "error", waiter, code })
    })

  const persist = (groupId: string, entry: Entry, g: Group, step: Step): Effect.Effect<ErrorCode | undefined> =>
    Effect.gen(function*() {
      const written = yield* Effect.result(deps.store.write(groupId, recordOf(g), entry.revision))
      if (Result.isSuccess(written) && written.success !== "conflict") {
        entry.revision = written.success
        return undefined
      }
      const code = Result.isSuccess(written) ? NOT_COORDINATOR : COORDINATOR_NOT_AVAILABLE
      yield* unload(entry, code, step.replies)
      return code
    })

  const slotOf = (groupId: string, entry: Entry): GroupSlot => ({
    group: entry.group,
    revision: entry.revision,
    run: <A>(g: Group, transition: (g: Group, step: Step) => A) =>
      Effect.gen(function*() {
        const step = newStep(yield* deps.clock.monotonicMs, deps.config)
        const value = transition(g, step)
        checkGroup(g)
        entry.group = g
        if (step.persist) {
          const failed = yield* persist(groupId, entry, g, step)
          if (failed !== undefined) return { ok: false, code: failed } as const
        }
        for (const reply of step.replies) yield* answer(reply)
        // A group nothing refers to (a join refused before it began) is not kept.
        if (isVacant(g) && entry.revision === "absent") entry.group = undefined
        return { ok: true, value } as const
      }),
    drop: (code) => unload(entry, code, [])
  })

  const load = (groupId: string, entry: Entry): Effect.Effect<boolean> =>
    Effect.gen(function*() {
      if (entry.loaded) return true
      const stored = yield* Effect.result(deps.store.read(groupId))
      if (Result.isFailure(stored)) return false
      const now = yield* deps.clock.monotonicMs
      entry.group = stored.success === undefined ? undefined : loadGroup(groupId, stored.success.record, now)
      entry.revision = stored.success?.revision ?? "absent"
      entry.loaded = true
      return true
    })

  /** Runs `body` holding the group's lock with the group loaded; `unavailable` answers when the KV cannot be read. */
  const withGroup = <A>(groupId: string, body: (slot: GroupSlot) => Effect.Effect<A>, unavailable: (code: ErrorCode) => A): Effect.Effect<A> =>
    Effect.suspend(() => {
      let entry = entries.get(groupId)
      if (entry === undefined) {
        entry = { lock: Semaphore.makeUnsafe(1), users: 0, loaded: false, group: undefined, revision: "absent" }
        entries.set(groupId, entry)
      }
      const held = entry
      held.users += 1
      const locked = held.lock.withPermits(1)(
        Effect.flatMap(load(groupId, held), (ok) => (ok ? body(slotOf(groupId, held)) : Effect.succeed(unavailable(COORDINATOR_NOT_AVAILABLE))))
      )
      return Effect.ensuring(
        locked,
        Effect.sync(() => {
          held.users -= 1
          if (held.users === 0 && held.group === undefined) entries.delete(groupId)
        })
      )
    })

  /** One pass of the timer: every loaded group this node still coordinates ticks; the others are dropped. */
  const tickAll = (owns: (groupId: string) => Effect.Effect<boolean>): Effect.Effect<void> =>
    Effect.gen(function*() {
      for (const [groupId, entry] of [...entries]) {
        if (entry.group === undefined) continue // being loaded, or known not to exist
        const mine = yield* owns(groupId)
        yield* withGroup(
          groupId,
          (slot) => {
            if (slot.group === undefined) return Effect.void
            if (!mine) return slot.drop(NOT_COORDINATOR)
            return Effect.asVoid(slot.run(slot.group, tick))
          },
          () => undefined
        )
      }
    })

  /** The groups in memory, for ListGroups (a group not yet persisted is listed too). */
  const loaded = (): ReadonlyArray<Group> => [...entries.values()].flatMap((e) => (e.group === undefined ? [] : [e.group]))

  return {
    withGroup,
    /** Parks a JoinGroup (its member id, for an error answer) or a SyncGroup until a transition answers it. */
    joinWaiter: parked.join,
    syncWaiter: parked.sync,
    tickAll,
    loaded,
    /** How many requests are parked (for tests: nothing may be left waiting forever). */
    parked: parked.size
  }
}

export type GroupRegistry = ReturnType<typeof makeGroupRegistry>
