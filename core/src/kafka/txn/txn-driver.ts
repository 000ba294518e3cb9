/**
 * The driver of the transaction state machine (`txn-machine.ts`) on one
 * node: it runs a transition against the record in the KV (read, decide,
 * compare-and-set; a lost race reads again), one transition at a time per
 * transactional id on this node, and carries out a decision: the markers
 * to every partition of the transaction (and, on commit, the consumer
 * offsets committed in it), then the Complete state.
 *
 * A decision is stored before any marker is written, and the timer
 * (`scan`) finishes every stored decision this node coordinates, so a
 * coordinator that crashes between the two, or loses the id to another
 * node, leaves the markers to the next one. The timer also aborts
 * transactions open longer than their timeout, measured on this node's
 * monotonic clock from when it first saw them open (a new coordinator
 * starts the count afresh).
 */
import { Effect, Semaphore } from "effect"
import type { ClockShape } from "../../clock/clock.ts"
import type { LogClient, LogClientError } from "../../log/client/log-client.ts"
import { encodeMarker } from "../../log/control-batch.ts"
import { completed, isDecided, timeOut, type TxnError, type TxnStep } from "./txn-machine.ts"
import type { TxnRecord } from "./txn-record.ts"
import type { TxnStore, TxnStoreError } from "./txn-store.ts"

/** A transition's outcome: the record after it (undefined: none stored), or why it was refused. */
export type Applied =
  | { readonly ok: true; readonly record: TxnRecord | undefined; readonly finished: boolean }
  | { readonly ok: false; readonly error: TxnError | "unavailable" }

export interface TxnDriverDeps {
  readonly store: TxnStore
  readonly log: LogClient
  readonly clock: ClockShape
}

/** Compare-and-set attempts before a transition gives up (answered as retriable). */
const MAX_ATTEMPTS = 8

/** Log refusals after which a partition has nothing left to close: a newer epoch wrote there, or it is gone. */
const settled = (e: LogClientError): boolean =>
  e._tag === "LogRequestError" && (e.code === "fenced" || e.code === "unknown-topic" || e.code === "unknown-partition")

export const makeTxnDriver = (deps: TxnDriverDeps) => {
  /** A lock per id while some transition of it runs or waits (dropped when none does). */
  const locks = new Map<string, { readonly lock: Semaphore.Semaphore; users: number }>()
  /** When this node first saw each open transaction (its producer id and epoch): the timeout counts from here. */
  const openSince = new Map<string, { readonly producerId: number; readonly epoch: number; readonly at: number }>()

  const locked = <A, E>(id: string, body: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      let held = locks.get(id)
      if (held === undefined) locks.set(id, (held = { lock: Semaphore.makeUnsafe(1), users: 0 }))
      const entry = held
      entry.users += 1
      return Effect.ensuring(entry.lock.withPermits(1)(body), Effect.sync(() => {
        entry.users -= 1
        if (entry.users === 0) locks.delete(id)
      }))
    })

  const noteOpen = (id: string, r: TxnRecord | undefined, now: number) => {
    if (r === undefined || r.status !== "Ongoing") return void openSince.delete(id)
    const seen = openSince.get(id)
    if (seen === undefined || seen.producerId !== r.producerId || seen.epoch !== r.epoch) openSince.set(id, { producerId: r.producerId, epoch: r.epoch, at: now })
  }

  /**
   * Writes a commit's consumer offsets, then the decision's markers; fails if any could not be written. Offsets
   * first: a worker that restarts between the two then reads on past its input (its output shows once the
   * markers land), where the other order would let it read the input again and produce it twice.
   */
  const carryOut = (decided: TxnRecord): Effect.Effect<void, LogClientError> =>
    Effect.gen(function*() {
      if (decided.status === "PrepareCommit") {
        yield* Effect.forEach(decided.offsets, (o) => deps.log.commitOffset(o.group, o.topic, o.partition, o.offset, o.metadata), { concurrency: "unbounded", discard: true })
      }
      const now = yield* deps.clock.wallMs
      const marker = encodeMarker({ producerId: decided.producerId, producerEpoch: decided.epoch, type: decided.status === "PrepareCommit" ? "commit" : "abort" }, now)
      yield* Effect.forEach(decided.partitions, (p) =>
        Effect.catchIf(Effect.asVoid(deps.log.produce(p.topic, p.partition, marker)), settled, () => Effect.void), { concurrency: "unbounded", discard: true })
    })

  /** One transition under compare-and-set, without taking the lock. */
  const transit = (id: string, transition: (r: TxnRecord | undefined) => Effect.Effect<TxnStep, LogClientError>): Effect.Effect<Applied, TxnStoreError | LogClientError> =>
    Effect.gen(function*() {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const stored = yield* deps.store.read(id)
        const step = yield* transition(stored?.record)
        if (step.error !== undefined) return { ok: false, error: step.error } as const
        let record = stored?.record
        if (step.next !== undefined) {
          if ((yield* deps.store.write(id, step.next, stored?.revision ?? "absent")) === "conflict") continue
          record = step.next
          noteOpen(id, record, yield* deps.clock.monotonicMs)
        }
        if (!step.complete || record === undefined || !isDecided(record)) return { ok: true, record, finished: false } as const
        // The decision is durable: write its markers, then store it complete. A failure leaves it to the timer.
        const done = yield* Effect.result(carryOut(record))
        if (done._tag === "Failure") return { ok: true, record, finished: false } as const
        const after = yield* transit(id, (r) => Effect.succeed(completed(r, record!)))
        return { ok: true, record: after.ok ? after.record : record, finished: after.ok } as const
      }
      return { ok: false, error: "concurrent" } as const
    })

  /** Runs a transition for `id` under this node's lock for it; KV and log failures answer "unavailable". */
  const apply = (id: string, transition: (r: TxnRecord | undefined) => Effect.Effect<TxnStep, LogClientError>): Effect.Effect<Applied> =>
    locked(id, Effect.catch(transit(id, transition), () => Effect.succeed({ ok: false, error: "unavailable" } as const)))

  /** One pass of the timer over the ids `owns` says are this node's: finish decisions, abort expired transactions. */
  const scan = (owns: (id: string) => Effect.Effect<boolean>): Effect.Effect<void> =>
    Effect.gen(function*() {
      const all = yield* Effect.result(deps.store.list)
      if (all._tag === "Failure") return
      const now = yield* deps.clock.monotonicMs
      for (const { transactionalId: id, record } of all.success) {
        noteOpen(id, record, now)
        if (!(yield* owns(id))) continue
        if (isDecided(record)) {
          yield* apply(id, (r) => Effect.succeed({ next: undefined, error: undefined, complete: r !== undefined && isDecided(r) }))
          continue
        }
        const since = openSince.get(id)
        if (since !== undefined && now - since.at >= record.timeoutMs) yield* apply(id, (r) => Effect.succeed(timeOut(r, since.producerId, since.epoch)))
      }
      for (const id of [...openSince.keys()]) if (!all.success.some((t) => t.transactionalId === id)) openSince.delete(id)
    })

  return { apply, scan }
}

export type TxnDriver = ReturnType<typeof makeTxnDriver>
