/**
 * Fetch: the batches from each partition's fetch offset, below its high
 * watermark, as stored (a batch is never split or recompressed).
 *
 * - **Long polling.** Until the partitions together hold `minBytes`, or one
 *   of them answers an error, the broker looks again every `fetchPollMs`,
 *   for at most `maxWaitMs`.
 * - **Sizes.** Each partition gets at most `partitionMaxBytes` and the
 *   response at most `maxBytes`, except that the first batch of the first
 *   partition with data always goes (so a batch larger than the limits
 *   still makes progress, as in Kafka).
 * - **Isolation.** `read_uncommitted` reads up to the high watermark;
 *   `read_committed` stops at the last stable offset (the first offset of
 *   the oldest transaction still open on the partition) and gets the
 *   aborted transactions that overlap what it read, from which the client
 *   drops aborted records (KIP-98: the broker never filters records).
 * - **Sessions** (KIP-227) are not kept: every response has session id 0,
 *   which tells the client to send full requests.
 * - **Topic ids.** Fetch v13+ names topics by id; the broker maps them to
 *   topics through this node's view (`topic-id.ts`).
 */
import { Effect } from "effect"
import { Clock } from "../../clock/clock.ts"
import type { Fetched } from "../../log/client/log-client.ts"
import { Field } from "../../log/record-batch.ts"
import type { TopicMeta } from "../../log/topics/topic-meta.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import { type Broker, readPartition } from "./broker-log.ts"
import { KafkaErrorCode, kafkaErrorOf } from "./error-codes.ts"
import { READ_COMMITTED } from "./list-offsets.ts"
import { topicById } from "./topic-id.ts"

type Request = RequestOf<"Fetch">
type Response = ResponseOf<"Fetch">
type PartitionData = Response["responses"][number]["partitions"][number]

const DEFAULT_POLL_MS = 25

type Outcome = { readonly ok: Fetched } | { readonly errorCode: number; readonly bounds?: { readonly logStartOffset: number; readonly highWatermark: number } | undefined }

interface Wanted {
  readonly topic: string | undefined
  readonly partition: number
  readonly offset: number
  readonly maxBytes: number
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) out.set(p, (at += p.length) - p.length)
  return out
}

const baseOffsetOf = (batch: Uint8Array): number => Number(new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getBigInt64(Field.baseOffset))

/** What a read_committed consumer may see of a read: the batches below the last stable offset. */
const committedPart = (f: Fetched): Fetched => {
  const batches = f.batches.filter((b) => baseOffsetOf(b) < f.lastStableOffset)
  return batches.length === f.batches.length ? f : { ...f, batches }
}

const readOne = (broker: Broker, w: Wanted, readCommitted: boolean): Effect.Effect<Outcome> => {
  if (w.topic === undefined) return Effect.succeed({ errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID })
  if (!Number.isSafeInteger(w.offset) || w.offset < 0) return Effect.succeed({ errorCode: KafkaErrorCode.OFFSET_OUT_OF_RANGE })
  return Effect.map(Effect.result(readPartition(broker)(w.topic, w.partition, w.offset, Math.max(1, w.maxBytes))), (r): Outcome =>
    r._tag === "Success" ? { ok: readCommitted ? committedPart(r.success) : r.success } : { errorCode: kafkaErrorOf(r.failure), bounds: r.failure._tag === "LogRequestError" ? r.failure.bounds : undefined })
}

const bytesOf = (o: Outcome): number => ("ok" in o ? o.ok.batches.reduce((n, b) => n + b.length, 0) : 0)

/** One round over every partition, concurrently. */
const round = (broker: Broker, wanted: ReadonlyArray<Wanted>, readCommitted: boolean) =>
  Effect.forEach(wanted, (w) => readOne(broker, w, readCommitted), { concurrency: "unbounded" })

/** The aborted transactions a read_committed answer carries: those overlapping the records it sends. */
const abortedFor = (w: Wanted, o: Outcome, records: ReadonlyArray<Uint8Array>, readCommitted: boolean): PartitionData["abortedTransactions"] => {
  if (!readCommitted || !("ok" in o)) return null
  if (records.length === 0) return []
  const last = records[records.length - 1]!
  const end = baseOffsetOf(last) + new DataView(last.buffer, last.byteOffset, last.byteLength).getInt32(Field.lastOffsetDelta)
  return o.ok.abortedTransactions
    .filter((a) => a.lastOffset >= w.offset && a.firstOffset <= end)
    .map((a) => ({ producerId: BigInt(a.producerId), firstOffset: BigInt(a.firstOffset) }))
}

const partitionData = (w: Wanted, o: Outcome, records: ReadonlyArray<Uint8Array>, readCommitted: boolean): PartitionData => {
  const hw = "ok" in o ? o.ok.highWatermark : (o.bounds?.highWatermark ?? -1)
  const start = "ok" in o ? o.ok.logStartOffset : (o.bounds?.logStartOffset ?? -1)
  return {
    partitionIndex: w.partition,
    errorCode: "ok" in o ? KafkaErrorCode.NONE : o.errorCode,
    highWatermark: BigInt(hw),
    lastStableOffset: "ok" in o ? BigInt(o.ok.lastStableOffset) : BigInt(hw),
    logStartOffset: BigInt(start),
    divergingEpoch: { epoch: -1, endOffset: -1n },
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1n, epoch: -1 },
    abortedTransactions: abortedFor(w, o, records, readCommitted),
    preferredReadReplica: -1,
    records: concat(records)
  }
}

/** The request's partitions, topics resolved by name (v12 and below) or id (v13+). */
const wantedOf = (request: Request, version: number, view: ReadonlyMap<string, TopicMeta>) =>
  request.topics.map((t) => {
    const topic = version >= 13 ? topicById(view, t.topicId)?.name : t.topic
    return { t, wanted: t.partitions.map((p): Wanted => ({ topic, partition: p.partition, offset: Number(p.fetchOffset), maxBytes: p.partitionMaxBytes })) }
  })

export const handleFetch = (broker: Broker, request: Request, version: number): Effect.Effect<Response, never, Clock> =>
  Effect.gen(function*() {
    const base = { throttleTimeMs: 0, sessionId: 0, nodeEndpoints: [] }
    if (request.sessionId !== 0) return { ...base, errorCode: KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND, responses: [] }
    const clock = yield* Clock
    const local = wantedOf(request, version, yield* broker.log.localTopics)
    // A topic id this node's view lacks may be a topic created a moment ago: ask again after a barrier.
    const groups = local.some((g) => g.wanted.some((w) => w.topic === undefined)) ? wantedOf(request, version, yield* broker.log.topics) : local
    const all = groups.flatMap((g) => g.wanted)
    const started = yield* clock.monotonicMs
    const readCommitted = version >= 4 && request.isolationLevel === READ_COMMITTED
    let outcomes = yield* round(broker, all, readCommitted)
    for (;;) {
      const total = outcomes.reduce((n, o) => n + bytesOf(o), 0)
      const failed = outcomes.some((o) => !("ok" in o))
      const waited = (yield* clock.monotonicMs) - started
      if (total >= request.minBytes || failed || waited >= request.maxWaitMs) break
      yield* clock.sleep(Math.min(broker.fetchPollMs ?? DEFAULT_POLL_MS, request.maxWaitMs - waited))
      outcomes = yield* round(broker, all, readCommitted)
    }
    // The response budget, in request order: the first batch always goes.
    let budget = request.maxBytes
    let i = 0
    const responses = groups.map(({ t, wanted }) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: wanted.map((w) => {
        const o = outcomes[i++]!
        const batches = "ok" in o ? o.ok.batches : []
        const kept: Array<Uint8Array> = []
        for (const b of batches) {
          if (b.length > budget && !(kept.length === 0 && budget === request.maxBytes)) break
          kept.push(b)
          budget -= b.length
        }
        return partitionData(w, o, kept, readCommitted)
      })
    }))
    return { ...base, errorCode: KafkaErrorCode.NONE, responses }
  })
