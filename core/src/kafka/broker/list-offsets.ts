/**
 * ListOffsets: per partition, the offset for a timestamp.
 *
 * - -2 (earliest): the log start offset; -1 (latest): the high watermark,
 *   or for read_committed the last stable offset (below an open transaction).
 * - A timestamp t >= 0: the base offset of the first batch whose largest
 *   timestamp is at least t, and that timestamp; (-1, -1) when there is
 *   none. The broker finds it by reading the partition's batch headers
 *   through the log client (the partition's time index lives on its
 *   replicas and is not exposed over the log protocol yet), so it costs a
 *   read of the partition up to that point; the answer is batch-grained.
 * - -3 (max timestamp, KIP-734) is answered UNSUPPORTED_FOR_MESSAGE_FORMAT.
 */
import { Effect, Result } from "effect"
import { type Fetched, LogRequestError, type LogUnavailableError } from "../../log/client/log-client.ts"
import { lastOffsetOf, verifyBatch } from "../../log/record-batch.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import { type Broker, readPartition } from "./broker-log.ts"
import { KafkaErrorCode, kafkaErrorOf } from "./error-codes.ts"

type Response = ResponseOf<"ListOffsets">
type PartitionResponse = Response["topics"][number]["partitions"][number]

export const EARLIEST = -2n
export const LATEST = -1n
/** Kafka's isolation level 1: only committed transactions (ListOffsets v2+, Fetch v4+). */
export const READ_COMMITTED = 1
const MAX_TIMESTAMP = -3n
/** How much one step of a timestamp search reads. */
const SEARCH_BYTES = 1 << 20

export interface Bounds {
  readonly logStartOffset: number
  readonly highWatermark: number
  /** read_committed's end: below it no transaction is open. */
  readonly lastStableOffset: number
}

const boundsOfRead = (f: Fetched): Bounds => ({ logStartOffset: f.logStartOffset, highWatermark: f.highWatermark, lastStableOffset: f.lastStableOffset })

/** The partition's log start offset, high watermark and last stable offset (a small read at offset 0, or at the log start once retention moved it). */
export const boundsOf = (broker: Broker, topic: string, partition: number): Effect.Effect<Bounds, LogRequestError | LogUnavailableError> =>
  readPartition(broker)(topic, partition, 0, 1).pipe(
    Effect.map(boundsOfRead),
    Effect.catchTag("LogRequestError", (e) =>
      e.code === "offset-out-of-range" && e.bounds !== undefined
        ? Effect.map(readPartition(broker)(topic, partition, e.bounds.logStartOffset, 1), boundsOfRead)
        : Effect.fail(e))
  )

/** The first batch at or after `start` whose largest timestamp is >= `t`: its base offset and that timestamp. */
const searchTimestamp = (broker: Broker, topic: string, partition: number, start: number, t: bigint) =>
  Effect.gen(function*() {
    let offset = start
    for (;;) {
      const f = yield* readPartition(broker)(topic, partition, offset, SEARCH_BYTES)
      if (f.batches.length === 0) return undefined
      for (const bytes of f.batches) {
        const header = verifyBatch(bytes)
        if (Result.isFailure(header)) return yield* new LogRequestError({ code: "corrupt", message: header.failure.message, bounds: undefined })
        const h = header.success
        if (BigInt(h.maxTimestamp) >= t && lastOffsetOf(h) >= offset) return { offset: Math.max(h.baseOffset, offset), timestamp: BigInt(h.maxTimestamp) }
        offset = Math.max(offset, lastOffsetOf(h) + 1)
      }
    }
  })

const answer = (version: number, partitionIndex: number, errorCode: number, offset: bigint, timestamp: bigint): PartitionResponse => ({
  partitionIndex,
  errorCode,
  // v0 answers with a list of offsets; v1+ with one offset and its timestamp.
  oldStyleOffsets: version === 0 && offset >= 0n ? [offset] : [],
  timestamp: version === 0 ? -1n : timestamp,
  offset: version === 0 ? -1n : offset,
  leaderEpoch: -1
})

const listOne = (broker: Broker, version: number, readCommitted: boolean, topic: string, partition: number, timestamp: bigint): Effect.Effect<PartitionResponse> =>
  Effect.gen(function*() {
    if (timestamp === MAX_TIMESTAMP || timestamp < MAX_TIMESTAMP) return answer(version, partition, KafkaErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, -1n, -1n)
    const bounds = yield* boundsOf(broker, topic, partition)
    if (timestamp === EARLIEST) return answer(version, partition, KafkaErrorCode.NONE, BigInt(bounds.logStartOffset), -1n)
    const latest = readCommitted ? bounds.lastStableOffset : bounds.highWatermark
    if (timestamp === LATEST) return answer(version, partition, KafkaErrorCode.NONE, BigInt(latest), -1n)
    const found = yield* searchTimestamp(broker, topic, partition, bounds.logStartOffset, timestamp)
    return found === undefined ? answer(version, partition, KafkaErrorCode.NONE, -1n, -1n) : answer(version, partition, KafkaErrorCode.NONE, BigInt(found.offset), found.timestamp)
  }).pipe(Effect.catch((e) => Effect.succeed(answer(version, partition, kafkaErrorOf(e), -1n, -1n))))

export const handleListOffsets = (broker: Broker, request: RequestOf<"ListOffsets">, version: number): Effect.Effect<Response> =>
  Effect.map(
    Effect.forEach(request.topics, (t) =>
      Effect.map(Effect.forEach(t.partitions, (p) => listOne(broker, version, request.isolationLevel === READ_COMMITTED, t.name, p.partitionIndex, p.timestamp), { concurrency: "unbounded" }), (partitions) => ({ name: t.name, partitions })),
      { concurrency: "unbounded" }),
    (topics) => ({ throttleTimeMs: 0, topics })
  )
