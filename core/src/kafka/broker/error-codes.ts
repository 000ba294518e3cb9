/**
 * Kafka's error codes the broker answers with, and how the streaming log's
 * outcomes map onto them. Kafka reports errors as codes inside a response
 * body; a client decides from the code whether to retry (after refreshing
 * its metadata) or give up, so the mapping keeps Cairn's distinction
 * between "certainly not appended" and "maybe appended":
 *
 * - `LogUnavailableError` (no node could serve it, nothing appended):
 *   LEADER_NOT_AVAILABLE, retriable;
 * - `LogAmbiguousError` (an attempt may have appended): REQUEST_TIMED_OUT,
 *   retriable — an idempotent producer's retry is answered with the
 *   original offsets, a plain producer's retry may duplicate, as in Kafka;
 * - `LogRequestError`: the code its reason names.
 */
import type { LogClientError } from "../../log/client/log-client.ts"
import type { LogErrorCode } from "../../log/service/log-protocol.ts"

export const KafkaErrorCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  COORDINATOR_NOT_AVAILABLE: 15,
  INVALID_TOPIC_EXCEPTION: 17,
  INVALID_REQUIRED_ACKS: 21,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
  INVALID_CONFIG: 40,
  INVALID_REQUEST: 42,
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  INVALID_PRODUCER_EPOCH: 47,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  KAFKA_STORAGE_ERROR: 56,
  FETCH_SESSION_ID_NOT_FOUND: 70,
  INVALID_RECORD: 87,
  UNKNOWN_TOPIC_ID: 100,
  UNSUPPORTED_ENDPOINT_TYPE: 119
} as const

const byLogCode: Readonly<Record<LogErrorCode, number>> = {
  "not-leader": KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
  "not-replica": KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
  "unavailable": KafkaErrorCode.LEADER_NOT_AVAILABLE,
  "timeout": KafkaErrorCode.REQUEST_TIMED_OUT,
  "unknown-topic": KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  "unknown-partition": KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  "topic-exists": KafkaErrorCode.TOPIC_ALREADY_EXISTS,
  "invalid-request": KafkaErrorCode.INVALID_REQUEST,
  "fenced": KafkaErrorCode.INVALID_PRODUCER_EPOCH,
  "out-of-order": KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  "invalid-batch": KafkaErrorCode.CORRUPT_MESSAGE,
  "too-large": KafkaErrorCode.MESSAGE_TOO_LARGE,
  "offset-out-of-range": KafkaErrorCode.OFFSET_OUT_OF_RANGE,
  "corrupt": KafkaErrorCode.KAFKA_STORAGE_ERROR
}

/** The Kafka error code for a log client's failure. */
export const kafkaErrorOf = (e: LogClientError): number => {
  switch (e._tag) {
    case "LogUnavailableError": return KafkaErrorCode.LEADER_NOT_AVAILABLE
    case "LogAmbiguousError": return KafkaErrorCode.REQUEST_TIMED_OUT
    case "LogRequestError": return byLogCode[e.code]
  }
}
