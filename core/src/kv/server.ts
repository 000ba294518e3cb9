/**
 * A KV node: Raft replicating the KV state machine, and the server side of
 * the client protocol on the same transport.
 *
 * Writes are proposed to Raft (a follower forwards to the leader) and
 * answered when this node applies them, with the state machine's result;
 * a proposal Raft refuses is answered `not-leader` at once. Linearizable
 * reads wait for a ReadIndex barrier and are then served from this node's
 * state machine; serializable reads are served at once.
 */
import { Data, Deferred, Effect, Queue, Scope } from "effect"
import { Clock } from "../clock/clock.ts"
import type { Disk } from "../disk/disk.ts"
import { InvariantViolation } from "../invariant/invariant.ts"
import { Network } from "../network/network.ts"
import type { NodeId } from "../node/node-id.ts"
import type { Random } from "../random/random.ts"
import type { Reader } from "../codec/reader.ts"
import { makeRaftNode, NotLeaderError, type RaftNode, type RaftNodeConfig, type RaftObserver } from "../raft/node.ts"
import type { RaftStorageError } from "../raft/storage.ts"
import { type FrameDemux, makeFrameDemux } from "../transport/frame-demux.ts"
import { decodeSessionCommand, encodeSessionCommand, type KvCommand, type KvResult, type SessionCommand } from "./command.ts"
import { CLIENT_REQUEST_KIND, decodeClientRequest, encodeClientResponse, type ClientResponse, type ReadConsistency } from "./protocol.ts"
import { KvStateMachine } from "./state-machine.ts"

/** Spans (`kv.submit`, `kv.query`) are no-ops unless the runtime installs a tracer; no stack capture per request. */
const untraced = { captureStackTrace: false } as const

export interface KvServerConfig {
  readonly id: NodeId
  readonly voters: ReadonlyArray<NodeId>
  readonly dataDir: string
  readonly readTimeoutMs?: number
  readonly tickMs?: number
  readonly raft?: RaftNodeConfig<KvResult>["options"]
  readonly walSegmentBytes?: number
  readonly observer?: RaftObserver
  /** Snapshot and compact the log after this many applied entries. */
  readonly snapshotEvery?: number
  /** Clients waiting for their writes; the oldest are forgotten beyond this (they time out and retry). */
  readonly maxPendingWrites?: number
  /**
   * The node's frame demultiplexer (default: a new one over the Network service). The server
   * registers the client protocol's request kind on it and hands it to Raft; the node's other
   * services register theirs.
   */
  readonly frames?: FrameDemux
}

export class KvTimeoutError extends Data.TaggedError("KvTimeoutError")<{
  /** The command may still be applied later: the outcome is unknown. */
  readonly message: string
}> {}

export interface KvServer {
  readonly raft: RaftNode
  /** The node's frame demultiplexer, for the services that share this node's transport. */
  readonly frames: FrameDemux
  readonly stateMachine: KvStateMachine
  readonly run: Effect.Effect<never, RaftStorageError>
  /**
   * Submits a write from this process (an HTTP handler, say) and waits for
   * its result. `NotLeaderError`: nothing happened. `KvTimeoutError`: the
   * outcome is unknown (it may still apply).
   */
  readonly submit: (command: SessionCommand, timeoutMs: number) => Effect.Effect<KvResult, NotLeaderError | KvTimeoutError>
  /** Serves a read from this process, linearizable (ReadIndex) or serializable (local). */
  readonly query: (
    command: Extract<KvCommand, { readonly op: "get" | "range" }>,
    consistency: ReadConsistency,
    timeoutMs: number
  ) => Effect.Effect<KvResult, NotLeaderError>
}

export const makeKvServer = (config: KvServerConfig): Effect.Effect<
  KvServer,
  RaftStorageError,
  Clock | Random | Disk | Network | Scope.Scope
> =>
  Effect.gen(function*() {
    const network = yield* Network
    const scope = yield* Scope.Scope
    // Replaced wholesale when a snapshot is restored.
    let stateMachine = new KvStateMachine()
    const maxPending = config.maxPendingWrites ?? 10_000
    /** `${clientId}\u0000${seq}` → who asked: a remote client (and its request id) or a local caller. */
    const pending = new Map<string, { readonly from: NodeId; readonly requestId: number } | Deferred.Deferred<KvResult>>()
    const respond = (to: NodeId, response: ClientResponse) => network.send(to, encodeClientResponse(response))
    const answered = yield* Queue.unbounded<{ readonly to: NodeId; readonly response: ClientResponse }>()

    let raftNode: RaftNode | undefined
    const onClientRequest = (from: NodeId, body: Reader): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (raftNode === undefined) return
        const node = raftNode
        let request
        try {
          request = decodeClientRequest(body)
        } catch {
          return // malformed: the client times out, as for a lost message
        }
        if (request.kind === "write") {
          const write = request
          const key = `${write.command.clientId}\u0000${write.command.seq}`
          pending.set(key, { from, requestId: write.requestId })
          if (pending.size > maxPending) pending.delete(pending.keys().next().value!)
          // Not inline: the receiver must go on reading (and batching) while Raft takes the proposal.
          yield* Effect.forkIn(
            Effect.gen(function*() {
              const outcome = yield* node.propose(encodeSessionCommand(write.command))
              if (outcome !== "dropped") return
              pending.delete(key)
              const status = yield* node.status
              yield* respond(from, { kind: "not-leader", requestId: write.requestId, leader: status.leader === config.id ? undefined : status.leader })
            }),
            scope
          )
          return
        }
        const read = request
        const serve = Effect.sync((): ClientResponse => ({
          kind: "result",
          requestId: read.requestId,
          result: read.command.op === "get"
            ? stateMachine.get(read.command.key)
            : stateMachine.range(read.command.start, read.command.end, read.command.limit)
        }))
        if (read.consistency === "serializable") {
          yield* Effect.flatMap(serve, (response) => respond(from, response))
          return
        }
        yield* Effect.forkIn(
          node.readBarrier(config.readTimeoutMs ?? 1_000).pipe(
            Effect.andThen(serve),
            Effect.catchTag("NotLeaderError", (e) =>
              Effect.succeed<ClientResponse>(
                e.leader !== undefined && e.leader !== config.id
                  ? { kind: "not-leader", requestId: read.requestId, leader: e.leader }
                  : { kind: "unavailable", requestId: read.requestId, reason: "no leader confirmed the read in time" }
              )
            ),
            Effect.flatMap((response) => respond(from, response))
          ),
          scope
        )
      })

    const frames = config.frames ?? makeFrameDemux(network)
    frames.register("kv", [CLIENT_REQUEST_KIND], (from, _kind, body) => onClientRequest(from, body))

    const { node, run } = yield* makeRaftNode<KvResult>({
      id: config.id,
      voters: config.voters,
      dataDir: config.dataDir,
      stateMachine: {
        apply: (index, command) => stateMachine.apply(index, command),
        snapshot: () => stateMachine.snapshot(),
        restore: (image) => {
          stateMachine = KvStateMachine.restore(image)
        }
      },
      ...(config.snapshotEvery === undefined ? {} : { snapshotEvery: config.snapshotEvery }),
      onApplied: (entry, result) => {
        if (entry.kind !== "command" || result === undefined) return
        let session
        try {
          session = decodeSessionCommand(entry.data)
        } catch (error) {
          // Only encodeSessionCommand's output is ever proposed (here, or by a peer's server that
          // forwards its own), and Raft checksums every entry: an undecodable committed command is
          // a bug, as the object layer treats a catalog record that fails to decode (and its
          // client, named only in those bytes, could never be answered).
          throw new InvariantViolation(`committed command at index ${entry.index} does not decode: ${error instanceof Error ? error.message : String(error)}`)
        }
        const key = `${session.clientId}\u0000${session.seq}`
        const waiter = pending.get(key)
        if (waiter === undefined) return
        pending.delete(key)
        if ("requestId" in waiter) Queue.offerUnsafe(answered, { to: waiter.from, response: { kind: "result", requestId: waiter.requestId, result } })
        else Deferred.doneUnsafe(waiter, Effect.succeed(result))
      },
      frames,
      ...(config.tickMs === undefined ? {} : { tickMs: config.tickMs }),
      ...(config.raft === undefined ? {} : { options: config.raft }),
      ...(config.walSegmentBytes === undefined ? {} : { walSegmentBytes: config.walSegmentBytes }),
      ...(config.observer === undefined ? {} : { observer: config.observer })
    })
    raftNode = node

    // Answers collected while applying go out from their own fiber, so applying never waits on the network.
    const answerer = Effect.forever(Effect.flatMap(Queue.take(answered), (a) => respond(a.to, a.response)))
    const clock = yield* Clock

    const submit: KvServer["submit"] = (command, timeoutMs) =>
      Effect.gen(function*() {
        const key = `${command.clientId}\u0000${command.seq}`
        const deferred = yield* Deferred.make<KvResult>()
        pending.set(key, deferred)
        const outcome = yield* node.propose(encodeSessionCommand(command))
        if (outcome === "dropped") {
          pending.delete(key)
          const status = yield* node.status
          return yield* new NotLeaderError({ leader: status.leader === config.id ? undefined : status.leader })
        }
        const timeout = Effect.andThen(
          clock.sleep(timeoutMs),
          Effect.suspend(() => {
            pending.delete(key)
            return Effect.fail(new KvTimeoutError({ message: `no result within ${timeoutMs} ms; the write may still apply` }))
          })
        )
        return yield* Effect.raceFirst(Deferred.await(deferred), timeout)
      }).pipe(Effect.withSpan("kv.submit", { attributes: { "kv.op": command.command.op, "kv.timeout_ms": timeoutMs } }, untraced))

    const query: KvServer["query"] = (command, consistency, timeoutMs) =>
      Effect.gen(function*() {
        if (consistency === "linearizable") yield* node.readBarrier(timeoutMs)
        return command.op === "get" ? stateMachine.get(command.key) : stateMachine.range(command.start, command.end, command.limit)
      }).pipe(Effect.withSpan("kv.query", { attributes: { "kv.op": command.op, "kv.consistency": consistency } }, untraced))

    return { raft: node, frames, get stateMachine() { return stateMachine }, run: Effect.raceFirst(run, answerer) as Effect.Effect<never, RaftStorageError>, submit, query }
  })
