/** Typed failures of topic administration and the log's metadata in the KV. */
import { Data } from "effect"

export class TopicExistsError extends Data.TaggedError("TopicExistsError")<{ readonly topic: string }> {}
export class UnknownTopicError extends Data.TaggedError("UnknownTopicError")<{ readonly topic: string }> {}
/** A request the rules refuse: a bad name, a replication factor above the node count, fewer partitions than now. */
export class InvalidTopicError extends Data.TaggedError("InvalidTopicError")<{ readonly message: string }> {}
/** The KV did not answer in time; `ambiguous`: a write may still have taken effect. */
export class LogMetadataUnavailableError extends Data.TaggedError("LogMetadataUnavailableError")<{
  readonly message: string
  readonly ambiguous: boolean
}> {}
