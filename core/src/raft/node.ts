/**
 * The Effect driver around the pure Raft state machine: one fiber owns the
 * `Raft` value and turns its `Ready` outputs into effects through the core
 * services — messages through Network, persistence through Disk (the WAL and
 * the hard state), applying through the replicated state machine — and
 * feeds inputs back: received messages, ticks from the Clock, proposals and
 * read requests from clients.
 *
 * Order per ready: send the messages that do not depend on our disk (the
 * leader's appends go out in parallel with its own write), persist, report
 * the persisted index, send the messages that needed the write (votes,
 * append acknowledgements), apply committed entries, serve reads whose index
 * is applied.
 *
 * Storage failures are fail-stop: the driver returns `RaftStorageError` and
 * the caller recovers the node from disk again.
 */
import { Data, Deferred, Effect, Queue, type Scope } from "effect"
import { Clock } from "../clock/clock.ts"
import type { Disk } from "../disk/disk.ts"
import { assert } from "../invariant/invariant.ts"
import { Network } from "../network/network.ts"
import type { NodeId } from "../node/node-id.ts"
import { Random } from "../random/random.ts"
import { type FrameDemux, type FrameHandler, makeFrameDemux } from "../transport/frame-demux.ts"
import { decodeMessageBody, encodeMessage, RAFT_FRAME_KINDS } from "./codec.ts"
import { initialConfig, members, type ConfChange } from "./membership.ts"
import { defaultRaftOptions, Raft, type ProposeOutcome, type RaftOptions, type Ready, type SoftState } from "./raft.ts"
import { openRaftStorage, type RaftStorageError } from "./storage.ts"
import type { Entry, Message } from "./types.ts"

/** The application Raft replicates for. Deterministic: same commands, same results. */
export interface ReplicatedStateMachine<R> {
  readonly apply: (index: number, command: Uint8Array) => R
  /** An image of everything applied so far (for snapshots); omit to never compact. */
  readonly snapshot?: () => Uint8Array
  /** Replaces the state with an image from `snapshot` (on restart, or from the leader). */
  readonly restore?: (image: Uint8Array) => void
}

/** Watches every step of a node: the simulator's invariant checks. Never set in production. */
export interface RaftObserver {
  readonly afterReady: (raft: Raft, committed: ReadonlyArray<Entry>) => void
}

export class NotLeaderError extends Data.TaggedError("NotLeaderError")<{
  readonly leader: NodeId | undefined
}> {}

export interface RaftNodeConfig<R> {
  readonly id: NodeId
  /** The initial cluster (every node of a new cluster must be given the same list). */
  readonly voters: ReadonlyArray<NodeId>
  readonly dataDir: string
  readonly stateMachine: ReplicatedStateMachine<R>
  /** Called after each committed entry is applied, with its result (the server answers clients here). */
  readonly onApplied?: (entry: Entry, result: R | undefined) => void
  readonly tickMs?: number
  readonly options?: Partial<Omit<RaftOptions, "id" | "randomInt">>
  readonly walSegmentBytes?: number
  /**
   * Take a snapshot and compact the log after this many applied entries (default 100 000, as
   * etcd's snapshot-count). A snapshot serializes the whole state machine on the event loop: at
   * 10 000 a loaded 3-node cluster spent ~5 % of the leader's CPU on it, in stalls that showed in
   * the p99 latency.
   */
  readonly snapshotEvery?: number
  readonly observer?: RaftObserver
  /**
   * The node's frame demultiplexer (default: a new one over the Network service). Raft registers
   * its message kinds on it and runs its loop among its own fibers; the node's other services
   * register theirs.
   */
  readonly frames?: FrameDemux
}

export interface RaftNode {
  readonly id: NodeId
  /** Proposes a command on this node (followers forward it to the leader). */
  readonly propose: (command: Uint8Array) => Effect.Effect<ProposeOutcome>
  /** Proposes a membership change (leader only). */
  readonly changeMembership: (change: ConfChange) => Effect.Effect<ProposeOutcome>
  readonly transferLeadership: (target: NodeId) => Effect.Effect<void>
  /**
   * Waits until a linearizable read may be served from the local state
   * machine (ReadIndex), or fails if no leader confirms within `timeoutMs`.
   */
  readonly readBarrier: (timeoutMs: number) => Effect.Effect<number, NotLeaderError>
  readonly status: Effect.Effect<SoftState & {
    readonly commit: number
    readonly applied: number
    readonly lastIndex: number
    /** Every node of the configuration this node has applied: voters (both halves when joint) and learners. */
    readonly members: ReadonlyArray<NodeId>
  }>
}

/**
 * Spans (`raft.persist`, `raft.apply`) are no-ops unless the runtime installs
 * a tracer; they read the clock but never sleep or draw randomness, so the
 * simulator's runs are unchanged. No stack capture: they run every cycle.
 */
const untraced = { captureStackTrace: false } as const

const payloadBytes = (entries: ReadonlyArray<Entry>): number => {
  let bytes = 0
  for (const e of entries) bytes += e.data.length
  return bytes
}

type Input =
  | { readonly _tag: "message"; readonly message: Message }
  | { readonly _tag: "tick" }
  | { readonly _tag: "propose"; readonly command: Uint8Array; readonly reply: Deferred.Deferred<ProposeOutcome> }
  | { readonly _tag: "conf"; readonly change: ConfChange; readonly reply: Deferred.Deferred<ProposeOutcome> }
  | { readonly _tag: "transfer"; readonly target: NodeId }
  | { readonly _tag: "read"; readonly context: number }

/**
 * Recovers the node from disk and runs it until the scope closes or storage
 * fails. The returned `RaftNode` is usable as soon as this is forked; `run`
 * is the node's main loop.
 */
export const makeRaftNode = <R>(config: RaftNodeConfig<R>): Effect.Effect<
  { readonly node: RaftNode; readonly run: Effect.Effect<never, RaftStorageError> },
  RaftStorageError,
  Clock | Random | Disk | Network | Scope.Scope
> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const random = (yield* Random).split("raft")
    const network = yield* Network
    assert(network.self === config.id, "the Network service belongs to another node")
    const storage = yield* openRaftStorage({ dir: config.dataDir, ...(config.walSegmentBytes === undefined ? {} : { walSegmentBytes: config.walSegmentBytes }) })
    // Election jitter: drawn up front in batches so the pure state machine can stay synchronous.
    const jitter: Array<number> = []
    const refillJitter = Effect.gen(function*() {
      while (jitter.length < 64) jitter.push(yield* random.nextUint32)
    })
    yield* refillJitter
    const options: RaftOptions = {
      ...defaultRaftOptions(config.id, (n) => {
        const r = jitter.pop()
        assert(r !== undefined, "election jitter ran out")
        return r % n
      }),
      ...config.options
    }
    const recoveredSnapshot = storage.recovered.snapshot
    if (recoveredSnapshot !== undefined) {
      assert(config.stateMachine.restore !== undefined, "a snapshot exists but the state machine cannot restore one")
      config.stateMachine.restore(recoveredSnapshot.data)
    }
    const raft = new Raft(options, {
      hardState: storage.recovered.hardState,
      snapshot: recoveredSnapshot,
      entries: storage.recovered.entries,
      config: initialConfig(config.voters),
      damaged: storage.recovered.damaged
    })

    const inputs = yield* Queue.unbounded<Input>()
    const reads = new Map<number, { readonly deferred: Deferred.Deferred<number, NotLeaderError>; index: number | undefined }>()
    // Read contexts differ between incarnations: a leader's late answer to a read of our previous
    // incarnation must not complete a new read with its older index (seed 2774: a stale read). A
    // stream of its own, so that drawing it leaves election jitter as it was.
    let nextReadContext = (yield* (yield* Random).split("raft/read-context").nextUint32) * 2 ** 20 + 1
    let applied = raft.log.applied
    let lastSnapshotIndex = recoveredSnapshot?.meta.index ?? 0
    const snapshotEvery = config.snapshotEvery ?? 100_000

    const send = (messages: ReadonlyArray<Message>) =>
      Effect.forEach(messages, (m) => network.send(m.to, encodeMessage(m)), { discard: true })

    const serveReads = Effect.gen(function*() {
      for (const [context, read] of reads) {
        if (read.index !== undefined && read.index <= applied) {
          reads.delete(context)
          yield* Deferred.succeed(read.deferred, read.index)
        }
      }
    })

    // The steps of processReady below: generators its Effect.gen delegates to with `yield*`, so a
    // ready runs exactly the effects it ran when they were inline (the simulator's scheduler counts them).

    /** Snapshots in a ready: the leader's replaces our log and state; a peer's repairs our prefix. */
    function* takeSnapshots(ready: Ready): Generator<Effect.Effect<unknown, RaftStorageError>, void, unknown> {
      if (ready.snapshot !== undefined) {
        // The leader sent a snapshot: it replaces our log and our state machine. It moved our commit
        // index, so the ready carries the hard state with the term it was learned in.
        assert(ready.hardState?.commitTerm !== undefined, "a snapshot installed without the hard state of its commit")
        yield* storage.installSnapshot(ready.snapshot, ready.hardState.commitTerm)
        assert(config.stateMachine.restore !== undefined, "received a snapshot but the state machine cannot restore one")
        config.stateMachine.restore(ready.snapshot.data)
        applied = ready.snapshot.meta.index
        lastSnapshotIndex = applied
      }
      if (ready.repairSnapshot !== undefined) {
        // A peer's snapshot replaced our damaged prefix; our later entries stay. The state machine
        // takes it only if it is ahead: a hole found in entries already applied needs the log
        // prefix, not an older state (that would rewind what reads and later entries see).
        yield* storage.saveSnapshot(ready.repairSnapshot)
        if (ready.repairSnapshot.meta.index > applied) {
          assert(config.stateMachine.restore !== undefined, "received a snapshot but the state machine cannot restore one")
          config.stateMachine.restore(ready.repairSnapshot.data)
          applied = ready.repairSnapshot.meta.index
        }
        lastSnapshotIndex = Math.max(lastSnapshotIndex, ready.repairSnapshot.meta.index)
      }
    }

    /** Every `snapshotEvery` applied entries: snapshot the state machine and compact the log. */
    function* maybeCompact(): Generator<Effect.Effect<unknown, RaftStorageError>, void, unknown> {
      if (config.stateMachine.snapshot === undefined || applied - lastSnapshotIndex < snapshotEvery) return
      const term = raft.log.term(applied)
      if (term === undefined) return
      const snapshot = { meta: { index: applied, term, config: raft.config }, data: config.stateMachine.snapshot() }
      yield* storage.saveSnapshot(snapshot)
      raft.compact(snapshot)
      lastSnapshotIndex = applied
    }

    const processReady = Effect.gen(function*() {
      while (raft.hasReady()) {
        const ready = raft.ready()
        yield* send(ready.messages)
        yield* takeSnapshots(ready)
        if (ready.hardState !== undefined || ready.entries.length > 0 || ready.truncateFrom !== undefined) {
          yield* storage.persist({
            hardState: ready.hardState,
            truncateFrom: ready.truncateFrom,
            entries: ready.entries,
            // Compacted entries are undefined too: a repair that would rewrite from inside our
            // snapshot stays in memory (a restart finds the hole again) rather than shifting the log (seed 4392).
            logEntry: (index) => raft.log.entry(index)
          }).pipe(Effect.withSpan("raft.persist", {
            attributes: {
              "raft.entries": ready.entries.length,
              "raft.bytes": payloadBytes(ready.entries),
              "raft.hard_state_changed": ready.hardState !== undefined,
              "raft.truncated": ready.truncateFrom !== undefined
            }
          }, untraced))
          const last = ready.entries[ready.entries.length - 1]
          if (last !== undefined) raft.persisted(last.index, last.term)
        }
        yield* send(ready.messagesAfterPersist)
        if (ready.committed.length > 0) {
          yield* Effect.sync(() => {
            for (const entry of ready.committed) {
              assert(entry.index === applied + 1, () => `applying ${entry.index} after ${applied}`)
              const result = entry.kind === "command" ? config.stateMachine.apply(entry.index, entry.data) : undefined
              applied = entry.index
              config.onApplied?.(entry, result)
            }
          }).pipe(Effect.withSpan("raft.apply", {
            attributes: {
              "raft.entries": ready.committed.length,
              "raft.first_index": ready.committed[0]!.index,
              "raft.last_index": ready.committed[ready.committed.length - 1]!.index
            }
          }, untraced))
        }
        if (ready.committed.length > 0 || ready.snapshot !== undefined || ready.repairSnapshot !== undefined) raft.appliedTo(applied)
        yield* maybeCompact()
        for (const rs of ready.readStates) {
          const read = reads.get(rs.context)
          if (read !== undefined) read.index = rs.index
        }
        yield* serveReads
        config.observer?.afterReady(raft, ready.committed)
      }
    })

    const handle = (input: Input) =>
      Effect.gen(function*() {
        switch (input._tag) {
          case "message":
            raft.step(input.message)
            break
          case "tick":
            raft.tick()
            break
          case "propose":
            yield* Deferred.succeed(input.reply, raft.propose([input.command]))
            break
          case "conf":
            yield* Deferred.succeed(input.reply, raft.proposeConfChange(input.change))
            break
          case "transfer":
            raft.transferLeadership(input.target)
            break
          case "read":
            raft.readIndex(input.context)
            break
        }
      })

    const mainLoop = Effect.gen(function*() {
      for (;;) {
        const batch = yield* Queue.takeAll(inputs)
        // Proposals in one batch become one append (one message per follower, one write).
        const proposals: Array<Extract<Input, { readonly _tag: "propose" }>> = []
        for (const input of batch) {
          if (input._tag === "propose") proposals.push(input)
          else yield* handle(input)
        }
        if (proposals.length > 0) {
          const outcome = raft.propose(proposals.map((p) => p.command))
          for (const p of proposals) yield* Deferred.succeed(p.reply, outcome)
        }
        if (jitter.length < 16) yield* refillJitter
        yield* processReady
      }
    })

    const tickMs = config.tickMs ?? 50
    const ticker = Effect.forever(
      Effect.andThen(clock.sleep(tickMs), Queue.offer(inputs, { _tag: "tick" } as const))
    )
    // Raft's messages, checked and decoded, join the main loop's inputs.
    const onMessage: FrameHandler = (from, kind, body) => {
      const message = decodeMessageBody(kind, body)
      // A message's claimed sender must be the link it came on.
      if (message.from !== from || message.to !== config.id) return Effect.void
      return Queue.offer(inputs, { _tag: "message", message })
    }
    const frames = config.frames ?? makeFrameDemux(network)
    frames.register("raft", RAFT_FRAME_KINDS, onMessage)

    const run: Effect.Effect<never, RaftStorageError> = Effect.raceFirst(
      mainLoop,
      Effect.raceFirst(ticker, frames.run)
    ) as Effect.Effect<never, RaftStorageError>

    const node: RaftNode = {
      id: config.id,
      propose: (command) =>
        Effect.gen(function*() {
          const reply = yield* Deferred.make<ProposeOutcome>()
          yield* Queue.offer(inputs, { _tag: "propose", command, reply })
          return yield* Deferred.await(reply)
        }),
      changeMembership: (change) =>
        Effect.gen(function*() {
          const reply = yield* Deferred.make<ProposeOutcome>()
          yield* Queue.offer(inputs, { _tag: "conf", change, reply })
          return yield* Deferred.await(reply)
        }),
      transferLeadership: (target) => Effect.asVoid(Queue.offer(inputs, { _tag: "transfer", target })),
      readBarrier: (timeoutMs) =>
        Effect.gen(function*() {
          const context = nextReadContext++
          const deferred = yield* Deferred.make<number, NotLeaderError>()
          reads.set(context, { deferred, index: undefined })
          yield* Queue.offer(inputs, { _tag: "read", context })
          const timeout = Effect.andThen(
            clock.sleep(timeoutMs),
            Effect.suspend(() => {
              reads.delete(context)
              return Effect.fail(new NotLeaderError({ leader: raft.leader }))
            })
          )
          return yield* Effect.raceFirst(Deferred.await(deferred), timeout)
        }),
      status: Effect.sync(() => ({
        role: raft.role,
        leader: raft.leader,
        term: raft.term,
        commit: raft.log.committed,
        applied,
        lastIndex: raft.log.lastIndex(),
        members: members(raft.config)
      }))
    }
    return { node, run }
  })
