/**
 * The typed failures of the Kafka wire codec. A decoder never throws a
 * RangeError or allocates from an unchecked length: every malformed frame
 * is a `KafkaDecodeError` that says what was wrong and where; a request
 * Cairn cannot interpret at all is a `KafkaUnsupportedRequestError` that
 * carries what the handler needs to answer it the protocol's way.
 */
import { Data } from "effect"

/** What is wrong with the bytes of a frame. */
export type DecodeFault =
  /** Fewer bytes than a field, a length or the frame's own size needs. */
  | "truncated"
  /** A length, count or size that is negative where the spec forbids it, or past a limit. */
  | "bad-length"
  /** An unsigned varint or zigzag varint that is too long or overflows its width. */
  | "bad-varint"
  /** A string whose bytes are not UTF-8. */
  | "bad-utf8"
  /** A boolean other than 0 or 1. */
  | "bad-bool"
  /** A tagged field repeated, or a known tagged field whose value does not fill its size. */
  | "bad-tagged-field"
  /** Bytes left over after the message's last field. */
  | "trailing-bytes"

export class KafkaDecodeError extends Data.TaggedError("KafkaDecodeError")<{
  readonly fault: DecodeFault
  readonly message: string
}> {}

/**
 * A well-framed request whose API key Cairn does not know, or whose version
 * it does not support. The handler answers with UNSUPPORTED_VERSION (35);
 * for ApiVersions the protocol asks for a v0 response carrying the
 * supported ranges, so the client can retry with a version both speak.
 */
export class KafkaUnsupportedRequestError extends Data.TaggedError("KafkaUnsupportedRequestError")<{
  readonly reason: "unknown-api" | "unsupported-version"
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  readonly message: string
}> {}

/**
 * A value the encoder cannot write in the version asked for: a null where
 * the version has no null, a number outside its type, a string longer than
 * the type allows, or a non-default value for a field the version lacks
 * and the spec does not mark ignorable (Kafka's own clients refuse the same).
 */
export class KafkaEncodeError extends Data.TaggedError("KafkaEncodeError")<{
  readonly message: string
}> {}
