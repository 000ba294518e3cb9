/**
 * The streaming log on one node: the partition replicas the topics in the
 * KV assign to this node, and the server side of the log's client protocol
 * (`log-protocol.ts`). Wired by `node/storage-node.ts` over the node's frame
 * demultiplexer: it owns `LOG_RAFT_KIND` (its Raft groups' frames,
 * `group-transport.ts`) and `LOG_REQUEST_KIND`.
 *
 * - **Reconciler.** Every `reconcileMs` it reads the topics from this node's
 *   applied KV state and starts a replica for every partition placed here
 *   that does not run yet, and stops those whose topic is gone. Replicas of
 *   a new partition start on each of its nodes with the same voters, as the
 *   KV's own cluster starts.
 * - **Requests** are served on a fiber each, started in arrival order: produce and fetch by the
 *   partition's local replica (a follower forwards a proposal to its leader
 *   and answers once it applied it; a fetch is linearizable, by a ReadIndex
 *   barrier), administration, producer ids and consumer offsets through the
 *   node's local KV client.
 * - **Failure.** A replica whose storage fails stops the node's log (fail-stop,
 *   as Raft's storage does): `run` fails and the node restarts from disk.
 */
import { Deferred, Effect, Exit, Scope } from "effect"
import { Clock } from "../../clock/clock.ts"
import type { Disk } from "../../disk/disk.ts"
import { makeLocalKvClient } from "../../kv/local-client.ts"
import type { KvServer } from "../../kv/server.ts"
import { Network } from "../../network/network.ts"
import type { NodeId } from "../../node/node-id.ts"
import { Random } from "../../random/random.ts"
import type { RaftNodeConfig, RaftObserver } from "../../raft/node.ts"
import { RaftStorageError } from "../../raft/storage.ts"
import type { FrameDemux } from "../../transport/frame-demux.ts"
import { makeGroupTransport } from "../replication/group-transport.ts"
import { openPartitionReplica, type PartitionReplica, type PartitionReplicaConfig } from "../replication/partition-replica.ts"
import { makeTopicAdmin } from "../topics/topic-admin.ts"
import type { TopicMeta } from "../topics/topic-meta.ts"
import { makeConsumerOffsets } from "./consumer-offsets.ts"
import { decodeLogRequest, encodeLogResponse, LOG_REQUEST_KIND, type LogRequest, type LogResponseBody } from "./log-protocol.ts"
import { serveLogRequest } from "./serve-request.ts"
import { makeProducerIds } from "./producer-ids.ts"
import { readTopicView } from "./topic-view.ts"

export interface LogNodeConfig {
  readonly self: NodeId
  readonly kv: KvServer
  readonly frames: FrameDemux
  /** Where partition replicas live in the node's data directory (default "log"). */
  readonly dataDir?: string
  /** How often the reconciler reads the topics (default 200 ms). */
  readonly reconcileMs?: number
  /** How long an append or a fetch barrier waits before answering "timeout" (default 2 s). */
  readonly requestTimeoutMs?: number
  /** The largest fetch answer in bytes (default 1 MiB; at least one batch always goes). */
  readonly maxFetchBytes?: number
  readonly tickMs?: number
  readonly raft?: RaftNodeConfig<unknown>["options"]
  readonly walSegmentBytes?: number
  /** Partition snapshots: how often, and how much unsynced segment data a snapshot may carry. */
  readonly snapshot?: PartitionReplicaConfig["snapshot"]
  readonly retentionCheckMs?: number
  /** Watches every partition group's Raft steps (the simulator's invariant checks). */
  readonly observer?: (group: string) => RaftObserver | undefined
  /** Test only: a bug planted in every replica (see `PartitionReplicaConfig.plantedBug`). */
  readonly plantedBug?: PartitionReplicaConfig["plantedBug"]
}

export interface LogNode {
  /** The replicas running on this node, by group id. */
  readonly replicas: () => ReadonlyMap<string, PartitionReplica>
  /** The topics as this node last read them from its KV state. */
  readonly topics: () => ReadonlyMap<string, TopicMeta>
  /**
   * Serves a request of this node's own log client without the network: what a frame of
   * `LOG_REQUEST_KIND` from `self` gets, without encoding, checksumming and copying it twice.
   */
  readonly serve: (request: LogRequest) => Effect.Effect<LogResponseBody>
  /** The reconciler, until a replica's storage fails (reported as a `RaftStorageError`: the node restarts). */
  readonly run: Effect.Effect<never, RaftStorageError>
}

/** Request ids remembered per node to drop copies of a request. */
const RECENT_REQUESTS = 4096

type Steps<A> = Generator<Effect.Effect<unknown, never, Clock | Random | Disk | Network | Scope.Scope>, A, unknown>

interface Running {
  readonly replica: PartitionReplica
  readonly scope: Scope.Closeable
}

/** Builds the node's log service; delegate to it with `yield*` (see storage-node.ts). */
export function* makeLogNode(config: LogNodeConfig): Steps<LogNode> {
  const network = yield* Network
  const clock = yield* Clock
  const random = (yield* Random).split("log")
  const nodeScope = yield* Scope.Scope
  const services = yield* Effect.context<Clock | Random | Disk>()
  const kv = yield* makeLocalKvClient(config.kv, { clientId: `log-${config.self}` })
  const transport = makeGroupTransport(network, config.frames)
  const failed = yield* Deferred.make<never, RaftStorageError>()
  const running = new Map<string, Running>()
  let topics: ReadonlyMap<string, TopicMeta> = new Map()
  const dataDir = config.dataDir ?? "log"

  /** The topic's retention as this node last read it (it may change while the replica runs: `TopicAdmin.alter`). */
  const retentionOf = (started: TopicMeta) => {
    const now = topics.get(started.name)
    const meta = now !== undefined && now.id === started.id ? now : started
    return { retentionMs: meta.retentionMs, retentionBytes: meta.retentionBytes }
  }

  const start = (group: string, meta: TopicMeta, p: number) =>
    Effect.gen(function*() {
      const scope = yield* Scope.fork(nodeScope)
      const opened = yield* Effect.result(
        openPartitionReplica({
          id: config.self,
          group,
          voters: meta.replicas[p]!,
          dir: `${dataDir}/${group}`,
          transport,
          log: { maxBatchBytes: meta.maxMessageBytes, maxSegmentBytes: meta.segmentBytes, retention: () => retentionOf(meta) },
          ...(config.tickMs === undefined ? {} : { tickMs: config.tickMs }),
          ...(config.raft === undefined ? {} : { raft: config.raft }),
          ...(config.walSegmentBytes === undefined ? {} : { walSegmentBytes: config.walSegmentBytes }),
          ...(config.snapshot === undefined ? {} : { snapshot: config.snapshot }),
          ...(config.retentionCheckMs === undefined ? {} : { retentionCheckMs: config.retentionCheckMs }),
          ...(config.observer?.(group) === undefined ? {} : { observer: config.observer(group)! }),
          ...(config.plantedBug === undefined ? {} : { plantedBug: config.plantedBug })
        }).pipe(Scope.provide(scope), Effect.provideContext(services))
      )
      if (opened._tag === "Failure") {
        yield* Scope.close(scope, Exit.void)
        return yield* Deferred.fail(failed, new RaftStorageError({ op: `log ${group}`, message: `${opened.failure._tag}: ${opened.failure.message}` }))
      }
      const replica = opened.success
      yield* Effect.forkIn(
        Effect.catch(replica.run, (e) => Deferred.fail(failed, new RaftStorageError({ op: `log ${group}`, message: `${e._tag}: ${e.message}` }))),
        scope
      )
      running.set(group, { replica, scope })
    })

  /** Starts and stops replicas to match the topics in this node's KV state. */
  const reconcile = Effect.gen(function*() {
    const view = yield* Effect.sync(() => readTopicView(config.kv.stateMachine, config.self))
    const wanted = view.placed
    topics = view.topics
    for (const [group, entry] of running) {
      if (wanted.has(group)) continue
      running.delete(group)
      yield* Scope.close(entry.scope, Exit.void)
    }
    for (const [group, w] of wanted) if (!running.has(group)) yield* start(group, w.meta, w.partition)
  })

  const context = {
    self: config.self,
    kv: config.kv,
    admin: makeTopicAdmin(kv),
    producers: makeProducerIds(kv),
    offsets: makeConsumerOffsets(kv),
    random,
    topics: () => topics,
    replica: (group: string) => running.get(group)?.replica,
    requestTimeoutMs: config.requestTimeoutMs ?? 2_000,
    maxFetchBytes: config.maxFetchBytes ?? 1 << 20
  }

  // Requests served lately, by sender and request id: the network may deliver a request twice, and a
  // copy must not run again (a second epoch bump of a named producer would fence its holder).
  const recentRequests = new Set<string>()
  config.frames.register("log", [LOG_REQUEST_KIND], (from, _kind, body) => {
    const request: LogRequest = decodeLogRequest(body)
    const seen = `${from}/${request.session}/${request.requestId}`
    if (recentRequests.has(seen)) return Effect.void
    recentRequests.add(seen)
    if (recentRequests.size > RECENT_REQUESTS) recentRequests.delete(recentRequests.values().next().value!)
    // Started at once, in arrival order: a produce reaches its replica's proposals before the next
    // request is read, so appends a client pipelines on one link are proposed in the order it sent them.
    return Effect.asVoid(
      Effect.forkIn(
        Effect.flatMap(serveLogRequest(context, request, from), (answer) => network.send(from, encodeLogResponse({ ...answer, requestId: request.requestId }))),
        nodeScope,
        { startImmediately: true }
      )
    )
  })

  const reconciler = Effect.forever(Effect.andThen(reconcile, clock.sleep(config.reconcileMs ?? 200)))
  const run = Effect.raceFirst(reconciler, Deferred.await(failed)).pipe(Effect.provideContext(services)) as Effect.Effect<never, RaftStorageError>
  return {
    replicas: () => new Map([...running].map(([g, r]) => [g, r.replica])),
    topics: () => topics,
    serve: (request) => serveLogRequest(context, request, config.self),
    run
  }
}
