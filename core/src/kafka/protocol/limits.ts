/**
 * The bounds the decoder enforces besides "no length past the end of the
 * frame". They keep a hostile or broken client from making a broker
 * allocate far more than it sent (an array of a million empty structs
 * costs a few bytes on the wire) or hold a huge frame in memory.
 */

export interface DecodeLimits {
  /** The largest frame accepted (Kafka's `socket.request.max.bytes` default: 100 MiB). */
  readonly maxFrameBytes: number
  /** The longest string in UTF-8 bytes; Kafka caps every string, compact or not, at 32767. */
  readonly maxStringBytes: number
  /** The longest bytes or records field. */
  readonly maxBytesLength: number
  /** The most elements in one array. */
  readonly maxArrayLength: number
  /** The most tagged fields in one struct. */
  readonly maxTaggedFields: number
}

export const defaultDecodeLimits: DecodeLimits = {
  maxFrameBytes: 100 * 1024 * 1024,
  maxStringBytes: 0x7fff,
  maxBytesLength: 100 * 1024 * 1024,
  maxArrayLength: 1 << 20,
  maxTaggedFields: 1024
}
