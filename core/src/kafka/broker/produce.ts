/**
 * Produce: each partition's records (exactly one RecordBatch v2, as Kafka
 * requires of v2 producers) are checked by the log's own batch checker
 * (`protocol/records.ts`, CRC32C included) and appended through the log
 * client, all partitions of a request at once.
 *
 * **acks.** An append is answered once the partition's Raft group committed
 * it: on a majority of its replicas, fsynced in their WALs. Cairn has no
 * weaker write, so acks=1 and acks=-1 (all) both wait for that quorum and
 * both mean "durable on a majority"; acks=0 appends the same way and sends
 * no response (the caller gets `undefined`), as the protocol asks.
 *
 * Idempotent producers (a producer id in the batch) are checked by the
 * partition's producer state: a retried batch is answered with its original
 * offsets, an out-of-order one with OUT_OF_ORDER_SEQUENCE_NUMBER, a fenced
 * epoch with INVALID_PRODUCER_EPOCH. A transactional producer's batches
 * (the transactional attribute bit) open its transaction on the partition
 * (`log/replication/partition-txns.ts`) until the coordinator's marker
 * closes it; control batches (markers) are the coordinator's alone.
 *
 * **Pipelining.** `startProduce` works in two stages, as Redpanda's broker
 * does: the first sends every partition's append, in request order, and
 * returns; the second waits for the outcomes. The listener starts a
 * connection's next Produce once the previous one's first stage is done, so
 * a client's in-flight requests share the partitions' group commits instead
 * of waiting a whole commit each, and each partition still receives them in
 * the order they were sent.
 */
import { Effect, Result } from "effect"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import { isControl } from "../../log/control-batch.ts"
import { recordBatches } from "../protocol/records.ts"
import type { Broker } from "./broker-log.ts"
import { KafkaErrorCode, kafkaErrorOf } from "./error-codes.ts"

type Response = ResponseOf<"Produce">
type PartitionResponse = Response["responses"][number]["partitionResponses"][number]

const partitionAnswer = (index: number, errorCode: number, baseOffset = -1n, errorMessage: string | null = null): PartitionResponse => ({
  index,
  errorCode,
  baseOffset,
  logAppendTimeMs: -1n,
  logStartOffset: -1n,
  recordErrors: [],
  errorMessage,
  currentLeader: { leaderId: -1, leaderEpoch: -1 }
})

/** Sends one partition's append (its batch checked first); the effect that waits for its answer. */
const startAppend = (broker: Broker, topic: string, index: number, records: Uint8Array | null): Effect.Effect<Effect.Effect<PartitionResponse>> =>
  Effect.gen(function*() {
    const batches = recordBatches(records)
    if (Result.isFailure(batches)) return Effect.succeed(partitionAnswer(index, KafkaErrorCode.CORRUPT_MESSAGE, -1n, batches.failure.message))
    if (batches.success.length === 1 && isControl(batches.success[0]!.header.attributes)) {
      // Markers are the transaction coordinator's to write: a client's would commit or abort at will.
      return Effect.succeed(partitionAnswer(index, KafkaErrorCode.INVALID_RECORD, -1n, "a producer may not write control batches"))
    }
    if (batches.success.length !== 1) {
      return Effect.succeed(partitionAnswer(index, KafkaErrorCode.INVALID_RECORD, -1n, `a produce request carries exactly one record batch per partition, not ${batches.success.length}`))
    }
    const produced = yield* broker.log.client.startProduce(topic, index, batches.success[0]!.bytes)
    return Effect.match(produced, {
      onFailure: (e) => partitionAnswer(index, kafkaErrorOf(e), -1n, e.message),
      onSuccess: (p) => partitionAnswer(index, KafkaErrorCode.NONE, BigInt(p.baseOffset))
    })
  })

/**
 * First stage: every partition's append sent, in request order. Second stage (the effect returned):
 * the response once every append has its outcome, or undefined for acks=0 (no response is sent).
 */
export const startProduce = (broker: Broker, request: RequestOf<"Produce">): Effect.Effect<Effect.Effect<Response | undefined>> =>
  Effect.gen(function*() {
    const refuse = (code: number, message: string): Response => ({
      responses: request.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => partitionAnswer(p.index, code, -1n, message)) })),
      throttleTimeMs: 0,
      nodeEndpoints: []
    })
    const reply = (response: Response) => Effect.succeed(request.acks === 0 ? undefined : response)
    if (request.acks !== 0 && request.acks !== 1 && request.acks !== -1) return reply(refuse(KafkaErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, not ${request.acks}`))
    if (request.transactionalId !== null && broker.transactions === undefined) {
      return reply(refuse(KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, "this broker runs no transaction coordinator"))
    }
    const topics: Array<{ readonly name: string; readonly answers: Array<Effect.Effect<PartitionResponse>> }> = []
    for (const t of request.topicData) {
      const answers: Array<Effect.Effect<PartitionResponse>> = []
      for (const p of t.partitionData) answers.push(yield* startAppend(broker, t.name, p.index, p.records))
      topics.push({ name: t.name, answers })
    }
    return Effect.flatMap(
      Effect.forEach(topics, (t) => Effect.map(Effect.all(t.answers, { concurrency: "unbounded" }), (partitionResponses) => ({ name: t.name, partitionResponses })), { concurrency: "unbounded" }),
      (responses) => reply({ responses, throttleTimeMs: 0, nodeEndpoints: [] })
    )
  })

/** The response, or undefined for acks=0 (no response is sent): both stages of `startProduce`. */
export const handleProduce = (broker: Broker, request: RequestOf<"Produce">): Effect.Effect<Response | undefined> =>
  Effect.flatten(startProduce(broker, request))
