/**
 * The streaming log's client library: finds a partition's replicas from the
 * topic's metadata, follows leader hints, starts each operation at the node
 * that answered the last one, retries what is safe to retry, and
 * tells an ambiguous outcome from a failure (as the KV client does):
 *
 * - a result: the operation took effect (a produce: committed on a quorum, at
 *   the offsets given; `duplicate`: an idempotent retry of a batch already in
 *   the log, answered with its first offsets);
 * - `LogRequestError`: refused for a reason that retrying will not change
 *   (fenced, out of order, too large, malformed, out of range...): certainly
 *   not applied;
 * - `LogUnavailableError`: no node could serve it before the deadline, and no
 *   attempt may have applied;
 * - `LogAmbiguousError`: an attempt may have applied (a produce that timed
 *   out). A batch without a producer id is not retried after such an attempt,
 *   since a retry could append it twice; an idempotent batch is, since the
 *   partition answers a duplicate with its original offsets.
 *
 * The client reads its node's Network alone: run it in a process of its own.
 */
import { Data, Deferred, Effect, Fiber, Scope } from "effect"
import { Clock } from "../../clock/clock.ts"
import { Network } from "../../network/network.ts"
import type { NodeId } from "../../node/node-id.ts"
import { Random } from "../../random/random.ts"
import { Field } from "../record-batch.ts"
import { type AbortedRange, encodeLogRequest, parseLogResponse, type LogErrorCode, type LogRequest, type LogRequestBody, type LogResponse, type LogResponseBody } from "../service/log-protocol.ts"
import type { CreateTopic, TopicChanges } from "../topics/topic-admin.ts"
import { decodeTopicMeta, type TopicMeta } from "../topics/topic-meta.ts"

export class LogRequestError extends Data.TaggedError("LogRequestError")<{
  readonly code: LogErrorCode
  readonly message: string
  readonly bounds: { readonly logStartOffset: number; readonly highWatermark: number } | undefined
}> {}
export class LogUnavailableError extends Data.TaggedError("LogUnavailableError")<{ readonly message: string }> {}
export class LogAmbiguousError extends Data.TaggedError("LogAmbiguousError")<{ readonly message: string }> {}

export type LogClientError = LogRequestError | LogUnavailableError | LogAmbiguousError

export interface LogClientConfig {
  readonly nodes: ReadonlyArray<NodeId>
  /** How long one attempt waits (above the nodes' own request timeout, 2 s by default). */
  readonly requestTimeoutMs?: number
  /** How long one operation may take, retries included. */
  readonly deadlineMs?: number
  /**
   * Where answers come from. Default: the client's own Network (a client process reads it alone).
   * A client inside a node passes the answers its node's frame demultiplexer hands it (`node-log-client.ts`).
   */
  readonly answers?: Effect.Effect<LogResponse | undefined>
  /**
   * A client inside a node: requests to `self` are served by a direct call, as the node would serve
   * them from the network (`node-log-client.ts`), saving two checksums and copies of every batch.
   */
  readonly local?: { readonly self: NodeId; readonly serve: (request: LogRequest) => Effect.Effect<LogResponseBody> }
}

export interface Produced { readonly baseOffset: number; readonly lastOffset: number; readonly duplicate: boolean }
export interface Fetched {
  readonly batches: ReadonlyArray<Uint8Array>
  readonly highWatermark: number
  readonly logStartOffset: number
  /** Kafka transactions: no transaction is open below it (at most the high watermark). */
  readonly lastStableOffset: number
  /** Aborted transactions overlapping the read, from the fetch offset up. */
  readonly abortedTransactions: ReadonlyArray<AbortedRange>
}

export interface LogClient {
  readonly produce: (topic: string, partition: number, batch: Uint8Array) => Effect.Effect<Produced, LogClientError>
  /**
   * Starts a produce and returns once its first attempt is on the wire (or its outcome is known), with
   * the effect that waits for the outcome. Produces started one after another reach the partition in
   * that order (one network link is FIFO, and a node hands requests to their replicas in arrival order),
   * so a caller can pipeline several without reordering them, as Kafka's broker serves a connection.
   */
  readonly startProduce: (topic: string, partition: number, batch: Uint8Array) => Effect.Effect<Effect.Effect<Produced, LogClientError>>
  readonly fetch: (topic: string, partition: number, offset: number, maxBytes: number) => Effect.Effect<Fetched, LogRequestError | LogUnavailableError>
  readonly createTopic: (create: CreateTopic) => Effect.Effect<TopicMeta, LogClientError>
  readonly growTopic: (topic: string, partitions: number) => Effect.Effect<TopicMeta, LogClientError>
  /** Changes the settings a topic takes after creation (its retention). */
  readonly alterTopic: (topic: string, changes: TopicChanges) => Effect.Effect<TopicMeta, LogClientError>
  readonly deleteTopic: (topic: string) => Effect.Effect<void, LogClientError>
  readonly describeTopic: (topic: string) => Effect.Effect<TopicMeta, LogRequestError | LogUnavailableError>
  readonly initProducer: (name: string) => Effect.Effect<{ readonly producerId: number; readonly epoch: number }, LogClientError>
  readonly commitOffset: (group: string, topic: string, partition: number, offset: number, metadata?: string) => Effect.Effect<void, LogClientError>
  readonly fetchOffset: (group: string, topic: string, partition: number) => Effect.Effect<{ readonly offset: number | undefined; readonly metadata: string }, LogRequestError | LogUnavailableError>
}

/** Codes worth another attempt: the cluster may answer otherwise soon (a new leader, a replica starting). */
const RETRYABLE: ReadonlySet<LogErrorCode> = new Set(["not-leader", "not-replica", "unavailable", "timeout"])
/**
 * For produce and fetch also these: a node's view of the topics trails the KV by a moment (a topic
 * just created or grown), and a replica whose segment log is damaged leaves the read to another
 * replica. If they are still the answer at the deadline, they are the outcome.
 */
const STALE_VIEW: ReadonlySet<LogErrorCode> = new Set(["unknown-topic", "unknown-partition", "corrupt"])

/** The preference key of requests any node serves (partition keys are `topic/partition`). */
const ANY_NODE = ""

const isIdempotent = (batch: Uint8Array): boolean =>
  batch.length >= 61 && new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getBigInt64(Field.producerId) >= 0n

/** A read changes nothing: if it never got an answer, it was simply unavailable. */
const asRead = <A>(effect: Effect.Effect<A, LogClientError>): Effect.Effect<A, LogRequestError | LogUnavailableError> =>
  Effect.catchTag(effect, "LogAmbiguousError", (e) => Effect.fail(new LogUnavailableError({ message: e.message })))

const unexpected = (r: LogResponseBody) => new LogRequestError({ code: "invalid-request", message: `unexpected answer ${r.kind}`, bounds: undefined })

export const makeLogClient = (config: LogClientConfig): Effect.Effect<LogClient, never, Network | Clock | Random | Scope.Scope> =>
  Effect.gen(function*() {
    const network = yield* Network
    const clock = yield* Clock
    const random = yield* Random
    const scope = yield* Scope.Scope
    const requestTimeoutMs = config.requestTimeoutMs ?? 3_000
    const deadlineMs = config.deadlineMs ?? 10_000
    const waiting = new Map<number, Deferred.Deferred<LogResponse>>()
    const session = yield* random.nextUint32
    // Answers carry only the request id: starting it at random keeps a late answer to a previous
    // instance of this client from completing one of ours.
    let nextRequestId = yield* random.nextUint32
    const metadata = new Map<string, TopicMeta>()
    // The node to try first, per partition (and one for requests any node serves): the leader a node
    // named, or the last node that answered. Without it every operation picked the next node in turn,
    // and a node that never answers (one that lost its Raft hard state stays down: log seed 310) cost a
    // whole attempt timeout on every third operation, forever.
    const preferred = new Map<string, NodeId>()
    let rotation = yield* random.nextUint32
    // This client's commits, in order (see the commit-offset request): a fresh name per instance.
    const committer = `${(yield* random.nextUint32).toString(36)}${(yield* random.nextUint32).toString(36)}`
    let commitSeq = 0

    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const response = config.answers === undefined ? parseLogResponse((yield* network.receive).payload) : yield* config.answers
      if (response === undefined) return
      const deferred = waiting.get(response.requestId)
      if (deferred === undefined) return // late: that attempt timed out
      waiting.delete(response.requestId)
      yield* Deferred.succeed(deferred, response)
    })))

    /** One attempt: the answer, or undefined after the request timeout. `onSent` runs once the request is sent. */
    const attempt = (to: NodeId, body: LogRequestBody, onSent?: () => void) =>
      Effect.gen(function*() {
        const requestId = (nextRequestId = (nextRequestId + 1) % 0x1_0000_0000)
        const deferred = yield* Deferred.make<LogResponse>()
        const request: LogRequest = { ...body, session, requestId }
        if (config.local !== undefined && to === config.local.self) {
          // Started at once: it reaches the replica's proposals before `onSent` lets the next request go.
          yield* Effect.forkIn(Effect.flatMap(config.local.serve(request), (answer) => Deferred.succeed(deferred, { ...answer, requestId })), scope, { startImmediately: true })
        } else {
          waiting.set(requestId, deferred)
          yield* network.send(to, encodeLogRequest(request))
        }
        onSent?.()
        const answer = yield* Effect.raceFirst(Deferred.await(deferred), Effect.as(clock.sleep(requestTimeoutMs), undefined))
        waiting.delete(requestId)
        return answer
      })

    const backoff = Effect.flatMap(random.nextIntBetween(20, 100), (ms) => clock.sleep(ms))

    /**
     * Attempts until an answer that is not worth retrying, or the deadline. `targets` names the
     * nodes to try (re-read each attempt); `retryAfterMaybe`: whether an attempt that may have
     * applied can be repeated safely; `onSent` runs after each attempt is sent.
     */
    const run = (body: LogRequestBody, targets: () => Effect.Effect<ReadonlyArray<NodeId>>, retryAfterMaybe: boolean, leaderKey?: string, onSent?: () => void) =>
      Effect.gen(function*() {
        const start = yield* clock.monotonicMs
        let maybeApplied = false
        let problem = "no attempt"
        let staleView: LogResponse | undefined
        const retryable = (r: LogResponse) => r.kind === "error" && (RETRYABLE.has(r.code) || (leaderKey !== undefined && STALE_VIEW.has(r.code)))
        const preferKey = leaderKey ?? ANY_NODE
        while ((yield* clock.monotonicMs) - start < deadlineMs) {
          const nodes = yield* targets()
          const hinted = preferred.get(preferKey)
          const to = hinted !== undefined && nodes.includes(hinted) ? hinted : nodes[rotation++ % nodes.length]!
          const r = yield* attempt(to, body, onSent)
          const lost = r === undefined || (r.kind === "error" && r.code === "timeout")
          if (r !== undefined && !retryable(r)) {
            preferred.set(preferKey, to) // it answered: the next operation starts there
            return r
          }
          if (r !== undefined && r.kind === "error" && STALE_VIEW.has(r.code)) staleView = r
          preferred.delete(preferKey)
          if (lost) {
            maybeApplied = true
            problem = r?.kind === "error" ? r.message : `no answer from ${to}`
            if (!retryAfterMaybe) break
            continue
          }
          if (r.kind === "error") {
            problem = `${to}: ${r.code}: ${r.message}`
            if (r.code === "not-leader" && r.leader !== undefined && leaderKey !== undefined) preferred.set(leaderKey, r.leader)
            if (r.code === "not-replica" || r.code === "unknown-topic") metadata.clear()
            if (r.code !== "not-leader" || r.leader === undefined) yield* backoff
          }
        }
        if (maybeApplied) return yield* new LogAmbiguousError({ message: problem })
        if (staleView !== undefined) return staleView
        return yield* new LogUnavailableError({ message: problem })
      })

    const anyNode = () => Effect.succeed(config.nodes)

    /** An answer that is an error becomes the typed refusal. */
    const refusal = (r: LogResponseBody) =>
      r.kind === "error" ? new LogRequestError({ code: r.code, message: r.message, bounds: r.bounds }) : unexpected(r)

    const describeTopic: LogClient["describeTopic"] = (topic) =>
      Effect.gen(function*() {
        const r = yield* asRead(run({ op: "describe-topic", topic }, anyNode, true))
        if (r.kind !== "topic") return yield* refusal(r)
        const meta = decodeTopicMeta(r.meta)
        if (typeof meta === "string") return yield* new LogRequestError({ code: "invalid-request", message: meta, bounds: undefined })
        metadata.set(topic, meta)
        return meta
      })

    /** The partition's replicas, from cached metadata (refreshed when a node says it is stale). */
    const replicasOf = (topic: string, partition: number) => () =>
      Effect.gen(function*() {
        const meta = metadata.get(topic) ?? (yield* Effect.orElseSucceed(describeTopic(topic), () => undefined))
        return meta?.replicas[partition] ?? config.nodes
      })

    const produceWith = (topic: string, partition: number, batch: Uint8Array, onSent?: () => void) =>
      Effect.gen(function*() {
        // One append id over every attempt: a retry that reaches a node after an earlier attempt was appended (the
        // earlier answer lost, say, when that node's storage failed) is answered with the first offsets, not appended
        // again (log seed 124: a retry under a new id appended a plain batch twice).
        const append = (nextRequestId = (nextRequestId + 1) % 0x1_0000_0000)
        const r = yield* run({ op: "produce", topic, partition, append, batch }, replicasOf(topic, partition), isIdempotent(batch), `${topic}/${partition}`, onSent)
        if (r.kind === "produced") return { baseOffset: r.baseOffset, lastOffset: r.lastOffset, duplicate: r.duplicate }
        return yield* refusal(r)
      })

    const startProduce: LogClient["startProduce"] = (topic, partition, batch) =>
      Effect.gen(function*() {
        const sent = yield* Deferred.make<void>()
        const onSent = () => Deferred.doneUnsafe(sent, Effect.void)
        // In the client's scope: the produce goes on (and settles its attempt) if the caller stops waiting.
        const fiber = yield* Effect.forkIn(produceWith(topic, partition, batch, onSent), scope, { startImmediately: true })
        yield* Effect.raceFirst(Deferred.await(sent), Effect.asVoid(Fiber.await(fiber)))
        return Fiber.join(fiber)
      })

    const fetch: LogClient["fetch"] = (topic, partition, offset, maxBytes) =>
      Effect.gen(function*() {
        const r = yield* asRead(run({ op: "fetch", topic, partition, offset, maxBytes }, replicasOf(topic, partition), true, `${topic}/${partition}`))
        if (r.kind === "fetched") {
          return { batches: r.batches, highWatermark: r.highWatermark, logStartOffset: r.logStartOffset, lastStableOffset: r.lastStableOffset, abortedTransactions: r.abortedTransactions }
        }
        return yield* refusal(r)
      })

    const topicOp = (body: LogRequestBody) =>
      Effect.gen(function*() {
        const r = yield* run(body, anyNode, false)
        if (r.kind !== "topic") return yield* refusal(r)
        const meta = decodeTopicMeta(r.meta)
        if (typeof meta === "string") return yield* new LogRequestError({ code: "invalid-request", message: meta, bounds: undefined })
        metadata.set(meta.name, meta)
        return meta
      })

    const okOp = (body: LogRequestBody, retryAfterMaybe: boolean) =>
      Effect.flatMap(run(body, anyNode, retryAfterMaybe), (r) => (r.kind === "ok" ? Effect.void : Effect.fail(refusal(r))))

    return {
      produce: (topic, partition, batch) => produceWith(topic, partition, batch),
      startProduce,
      fetch,
      createTopic: (create) => topicOp({ op: "create-topic", create }),
      growTopic: (topic, partitions) => topicOp({ op: "grow-topic", topic, partitions }),
      alterTopic: (topic, changes) => {
        // The wire carries whole numbers only: a bad value is refused here, as the topic admin would.
        const bad = Object.entries(changes).find(([, v]) => v !== undefined && v !== null && !(Number.isSafeInteger(v) && v >= 0))
        return bad === undefined
          ? topicOp({ op: "alter-topic", topic, changes })
          : Effect.fail(new LogRequestError({ code: "invalid-request", message: `${bad[0]} must be a whole number of at least 0, or null for none`, bounds: undefined }))
      },
      deleteTopic: (topic) => Effect.tap(okOp({ op: "delete-topic", topic }, false), () => Effect.sync(() => metadata.delete(topic))),
      describeTopic,
      initProducer: (name) =>
        Effect.flatMap(run({ op: "init-producer", name }, anyNode, true), (r) =>
          r.kind === "producer" ? Effect.succeed({ producerId: r.producerId, epoch: r.epoch }) : Effect.fail(refusal(r))),
      // Repeating a commit is harmless: an attempt older than a later commit of ours changes nothing.
      commitOffset: (group, topic, partition, offset, metadata = "") =>
        Effect.suspend(() => okOp({ op: "commit-offset", group, topic, partition, offset, metadata, committer, seq: ++commitSeq }, true)),
      fetchOffset: (group, topic, partition) =>
        asRead(Effect.flatMap(run({ op: "fetch-offset", group, topic, partition }, anyNode, true), (r) =>
          r.kind === "offset" ? Effect.succeed({ offset: r.offset, metadata: r.metadata }) : Effect.fail(refusal(r))))
    }
  })
