/**
 * One replica of a replicated partition: a Raft group (the node's Raft
 * driver, `raft/node.ts`, unchanged) whose state machine is the partition
 * (`partition-machine.ts`), and the partition's segment log
 * (`partition-log.ts`) that holds the batches it committed.
 *
 * - **Append** proposes the batch (a follower forwards it to the leader) and
 *   answers once this replica has applied it: committed on a majority of the
 *   group's voters, fsynced in their WALs (acks=all). The offsets come from
 *   the machine at apply time, the same on every replica.
 * - **The segment log only ever holds committed batches.** A writer fiber
 *   (`segment-writer.ts`) appends the applied batches in offset order; after
 *   a crash the replica re-applies its Raft log and the writer fills in
 *   whatever the segment log lost (entries below its end are skipped).
 * - **Snapshots.** Every `snapshot.every` applied entries Raft takes a
 *   partition snapshot (`partition-snapshot.ts`: the machine's state and the
 *   batches not yet synced to the segment log) and compacts its log behind
 *   it. A replica restored from one (a restart, or a follower the leader
 *   sends it to) copies the batches its segment log lacks below the snapshot
 *   from a peer (`segment-catch-up.ts`).
 * - **Reads** are bounded by the high watermark, the machine's next offset:
 *   everything below it is committed. A linearizable read first runs a
 *   ReadIndex barrier, so it sees every append acknowledged before it began.
 */
import { Data, Deferred, Effect, Scope } from "effect"
import { Clock, type ClockShape } from "../../clock/clock.ts"
import type { Disk } from "../../disk/disk.ts"
import { Network } from "../../network/network.ts"
import type { NodeId } from "../../node/node-id.ts"
import { Random } from "../../random/random.ts"
import { makeRaftNode, NotLeaderError, type RaftNode, type RaftNodeConfig, type RaftObserver } from "../../raft/node.ts"
import type { RaftStorageError } from "../../raft/storage.ts"
import { makeFrameDemux } from "../../transport/frame-demux.ts"
import { LogOffsetOutOfRangeError, type LogClosedError, type LogFailedError, type LogReadFailure, type LogRecoveryError } from "../log-error.ts"
import { openPartitionLog, type PartitionLog, type PartitionLogConfig } from "../partition-log.ts"
import { baseOffsetOf, Field } from "../record-batch.ts"
import type { GroupTransport } from "./group-transport.ts"
import { encodePartitionCommand } from "./partition-command.ts"
import { type AppendRefusal, type AppliedAppend, PartitionMachine } from "./partition-machine.ts"
import type { AbortedTxn } from "./partition-txns.ts"
import { makeSnapshotHooks } from "./partition-snapshot.ts"
import { OffsetGuesser, type ReplicaPlantedBug, SpeculativeTail } from "./planted-bugs.ts"
import { CATCH_UP_REQUEST_KIND, CATCH_UP_RESPONSE_KIND, makeSegmentCatchUp } from "./segment-catch-up.ts"
import { makeSegmentWriter, type SegmentWriter } from "./segment-writer.ts"

/** The machine refused the batch (deterministically, on every replica): nothing was appended. */
export class AppendRefusedError extends Data.TaggedError("AppendRefusedError")<{
  readonly reason: AppendRefusal
  readonly message: string
}> {}

/** No answer in time: the batch may still be committed later (the outcome is unknown). */
export class AppendTimeoutError extends Data.TaggedError("AppendTimeoutError")<{ readonly message: string }> {}

export interface PartitionSnapshotConfig {
  /** Snapshot and compact the group's Raft log after this many applied entries (default 10 000). */
  readonly every?: number
  /** Sync the segment log once this many bytes were written since its last sync (default 1 MiB): bounds a snapshot's tail. */
  readonly syncBytes?: number
  /** How long a request for missing batches waits for a peer's answer (default 1 s). */
  readonly catchUpTimeoutMs?: number
}

export interface PartitionReplicaConfig {
  readonly id: NodeId
  /** The group's id, unique in the cluster for the life of the partition (frames carry it). */
  readonly group: string
  readonly voters: ReadonlyArray<NodeId>
  /** The replica's directory: Raft's WAL in `<dir>/raft`, segments in `<dir>/data`. */
  readonly dir: string
  readonly transport: GroupTransport
  readonly log?: Omit<PartitionLogConfig, "dir">
  readonly tickMs?: number
  readonly raft?: RaftNodeConfig<unknown>["options"]
  readonly walSegmentBytes?: number
  readonly snapshot?: PartitionSnapshotConfig
  /** How often retention runs (default 60 s). */
  readonly retentionCheckMs?: number
  readonly observer?: RaftObserver
  /** Test only, for the simulator's planted-bug campaigns (`planted-bugs.ts`). */
  readonly plantedBug?: ReplicaPlantedBug | undefined
}

export interface Appended {
  readonly baseOffset: number
  readonly lastOffset: number
  /** An idempotent producer's retry: the batch was already in the log at these offsets. */
  readonly duplicate: boolean
}

export interface Fetched {
  readonly batches: ReadonlyArray<Uint8Array>
  readonly highWatermark: number
  readonly logStartOffset: number
  /** Below it no transaction is open (`partition-txns.ts`); at most the high watermark. */
  readonly lastStableOffset: number
  /** Aborted transactions overlapping the offsets from the fetch offset to the high watermark. */
  readonly abortedTransactions: ReadonlyArray<AbortedTxn>
}

/** What this opening of the replica did with snapshots. */
export interface SnapshotStats {
  /** Snapshots taken (Raft compacted its log behind each). */
  readonly taken: number
  /** Snapshots restored: at open, or installed from the leader. */
  readonly restored: number
  /** Batches copied from peers into the segment log after a restore. */
  readonly batchesCopied: number
}

export type ReplicaFailure = RaftStorageError | LogFailedError | LogClosedError

export interface PartitionReplica {
  readonly group: string
  readonly raft: RaftNode
  /** `key` names the request (a copy with the same key is applied once); default: unique to this call. */
  readonly append: (batch: Uint8Array, timeoutMs: number, key?: string) => Effect.Effect<Appended, NotLeaderError | AppendRefusedError | AppendTimeoutError>
  /**
   * Batches from the one holding `offset`, below the high watermark; linearizable reads wait for a
   * ReadIndex barrier. A replica still copying batches from a peer answers `NotLeaderError` after `timeoutMs`.
   */
  readonly read: (offset: number, maxBytes: number, options: { readonly linearizable: boolean; readonly timeoutMs: number }) => Effect.Effect<Fetched, NotLeaderError | LogReadFailure>
  readonly highWatermark: () => number
  readonly machine: PartitionMachine
  readonly log: PartitionLog
  readonly snapshots: () => SnapshotStats
  /** Raft, the segment writer and retention, until storage fails. */
  readonly run: Effect.Effect<never, ReplicaFailure>
}

const view = (batch: Uint8Array) => new DataView(batch.buffer, batch.byteOffset, batch.byteLength)
const endOffsetOf = (batch: Uint8Array): number => baseOffsetOf(batch) + view(batch).getInt32(Field.lastOffsetDelta) + 1

/** What a read needs of its replica. */
interface ReadContext {
  readonly node: RaftNode
  readonly machine: PartitionMachine
  readonly writer: SegmentWriter
  readonly log: PartitionLog
  readonly clock: ClockShape
  /** Planted bug read-above-hw only. */
  readonly speculative: SpeculativeTail | undefined
}

const makeRead = ({ node, machine, writer, log, clock, speculative }: ReadContext): PartitionReplica["read"] => (offset, maxBytes, options) =>
  Effect.gen(function*() {
    if (options.linearizable) yield* node.readBarrier(options.timeoutMs)
    const hw = machine.nextOffset
    if (log.logEndOffset() < hw) {
      // Behind its own high watermark: still writing applied batches, or copying a snapshot's from a peer.
      yield* Effect.raceFirst(writer.waitWritten(hw), Effect.andThen(clock.sleep(options.timeoutMs), Effect.fail(new NotLeaderError({ leader: undefined }))))
    }
    const start = log.logStartOffset()
    const above = speculative?.above(hw) ?? [] // planted bug read-above-hw: proposals not applied yet
    const bound = above.length === 0 ? hw : above[above.length - 1]!.lastOffset + 1
    if (offset < start || offset > bound) return yield* new LogOffsetOutOfRangeError({ offset, logStartOffset: start, logEndOffset: bound })
    // The segment log may hold more than this replica has applied since a restart; all of it is
    // committed, but a reader's bound is the high watermark it is told.
    const stored = offset >= hw ? [] : (yield* log.read(offset, maxBytes)).batches.filter((b) => baseOffsetOf(b) < hw)
    const reachesHw = stored.length === 0 ? offset >= hw : endOffsetOf(stored[stored.length - 1]!) >= hw
    const batches = reachesHw ? [...stored, ...above.filter((b) => b.lastOffset >= offset).map((b) => b.stored)] : stored
    const lastStableOffset = machine.txns.lastStableOffset(hw)
    return { batches, highWatermark: bound, logStartOffset: start, lastStableOffset, abortedTransactions: machine.txns.abortedIn(offset, hw) }
  })

export const openPartitionReplica = (config: PartitionReplicaConfig): Effect.Effect<
  PartitionReplica,
  RaftStorageError | LogRecoveryError,
  Clock | Random | Disk | Scope.Scope
> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const scope = yield* Scope.Scope
    // A stream per opening: a node restarted in the same process (after a storage failure) gets the
    // same Random service again, and Raft's read contexts and our request keys must still be new.
    const openedAt = yield* clock.monotonicMs
    const random = (yield* Random).split(`log/${config.group}@${openedAt}`)
    const log = yield* openPartitionLog({ ...config.log, dir: `${config.dir}/data` })
    yield* Effect.addFinalizer(() => log.close)
    const machine = new PartitionMachine(log.limits.maxBatchBytes)
    // Callers waiting for their appends, by request key. A local append's key names this opening of
    // the replica: with a nonce drawn from a stream that repeated after an in-process restart, a
    // re-applied entry of the previous opening answered a new caller with its offsets (log seed 82).
    const pending = new Map<string, Deferred.Deferred<AppliedAppend["outcome"]>>()
    const opening = `${config.id}/${openedAt}.${(yield* random.nextUint32).toString(36)}`
    let localAppends = 0

    const group = yield* config.transport.open(config.group)
    yield* Effect.addFinalizer(() => group.close)
    const frames = makeFrameDemux(group.network)
    const catchUp = makeSegmentCatchUp({
      self: config.id,
      voters: config.voters,
      network: group.network,
      clock,
      log,
      firstRequestId: yield* random.nextUint32,
      timeoutMs: config.snapshot?.catchUpTimeoutMs ?? 1_000,
      maxBytes: Math.max(log.limits.maxBatchBytes, 1 << 20),
      scope
    })
    frames.register("log-catch-up", [CATCH_UP_REQUEST_KIND, CATCH_UP_RESPONSE_KIND], catchUp.onFrame)
    const writer = yield* makeSegmentWriter({ log, clock, group: config.group, catchUp, syncBytes: config.snapshot?.syncBytes ?? 1 << 20 })

    const hooks = makeSnapshotHooks(machine, writer, log, config.plantedBug)

    const { node, run: raftRun } = yield* makeRaftNode<AppliedAppend>({
      id: config.id,
      voters: config.voters,
      dataDir: `${config.dir}/raft`,
      stateMachine: { apply: (_index, command) => machine.apply(command), snapshot: hooks.snapshot, restore: hooks.restore },
      onApplied: (entry, result) => {
        if (entry.kind !== "command" || result === undefined) return
        if (result.outcome.kind === "appended") writer.offer(result.outcome.baseOffset, result.outcome.stored, result.outcome.header)
        if (result.origin !== config.id) return
        const waiter = pending.get(result.key)
        if (waiter === undefined) return
        pending.delete(result.key)
        Deferred.doneUnsafe(waiter, Effect.succeed(result.outcome))
      },
      frames,
      snapshotEvery: config.snapshot?.every ?? 10_000,
      ...(config.tickMs === undefined ? {} : { tickMs: config.tickMs }),
      ...(config.raft === undefined ? {} : { options: config.raft }),
      ...(config.walSegmentBytes === undefined ? {} : { walSegmentBytes: config.walSegmentBytes }),
      ...(config.observer === undefined ? {} : { observer: config.observer })
    }).pipe(Effect.provideService(Network, group.network), Effect.provideService(Random, random))

    const retention = Effect.forever(Effect.andThen(clock.sleep(config.retentionCheckMs ?? 60_000), log.enforceRetention))

    // Planted bugs only (the correct code never guesses an offset: it waits for the apply).
    const guesser = config.plantedBug === "ack-before-commit" ? new OffsetGuesser() : undefined
    const speculative = config.plantedBug === "read-above-hw" ? new SpeculativeTail() : undefined

    /** The applied outcome of `requestKey`, or a timeout (the batch may still be appended). */
    const awaitOutcome = (requestKey: string, reply: Deferred.Deferred<AppliedAppend["outcome"]>, timeoutMs: number) =>
      Effect.gen(function*() {
        const timeout = Effect.andThen(
          clock.sleep(timeoutMs),
          Effect.suspend(() => {
            if (pending.get(requestKey) === reply) pending.delete(requestKey)
            return Effect.fail(new AppendTimeoutError({ message: `${config.group}: no commit within ${timeoutMs} ms; the batch may still be appended` }))
          })
        )
        const outcome = yield* Effect.raceFirst(Deferred.await(reply), timeout)
        if (outcome.kind === "refused") return yield* new AppendRefusedError({ reason: outcome.reason, message: outcome.message })
        return { baseOffset: outcome.baseOffset, lastOffset: outcome.lastOffset, duplicate: outcome.kind === "duplicate" }
      })

    const append: PartitionReplica["append"] = (batch, timeoutMs, key) =>
      Effect.gen(function*() {
        const requestKey = key ?? `${opening}/${localAppends++}`
        // A copy of a request whose proposal is still in flight (the network duplicated it) waits for that
        // proposal's outcome. Proposing it again could answer "not leader" while the first copy commits, and
        // the client, told nothing was appended, would send the batch again (log seed 124: a plain batch twice).
        const inFlight = pending.get(requestKey)
        if (inFlight !== undefined) return yield* awaitOutcome(requestKey, inFlight, timeoutMs)
        const reply = yield* Deferred.make<AppliedAppend["outcome"]>()
        pending.set(requestKey, reply)
        const proposed = yield* node.propose(encodePartitionCommand({ op: "append", origin: config.id, key: requestKey, batch }))
        if (proposed === "dropped") {
          pending.delete(requestKey)
          const status = yield* node.status
          return yield* new NotLeaderError({ leader: status.leader === config.id ? undefined : status.leader })
        }
        speculative?.add(batch, machine.nextOffset)
        if (guesser !== undefined) {
          pending.delete(requestKey)
          return { ...guesser.guess(batch, machine.nextOffset), duplicate: false }
        }
        return yield* awaitOutcome(requestKey, reply, timeoutMs)
      })

    const run = Effect.raceFirst(raftRun, Effect.raceFirst(writer.run, retention)) as Effect.Effect<never, ReplicaFailure>
    return {
      group: config.group,
      raft: node,
      append,
      read: makeRead({ node, machine, writer, log, clock, speculative }),
      highWatermark: () => machine.nextOffset,
      machine,
      log,
      snapshots: () => ({ ...hooks.stats, batchesCopied: catchUp.copied() }),
      run
    }
  })
