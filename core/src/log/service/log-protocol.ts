/**
 * The streaming log's client protocol on Cairn's node transport: requests
 * (produce, fetch, topic administration, producer ids, consumer offsets)
 * and their answers, each in a checksummed frame of its own kind. This is
 * Cairn's internal protocol, what `log-client.ts` and the simulator speak;
 * the Kafka wire protocol will translate to the same operations.
 *
 * Body, version 1: u8 version, (requests only: u32 session), u32 request
 * id, u8 op, then the op's fields
 * in declaration order (strings and byte strings with a u32 length, integers
 * as `codec/writer.ts` writes them; an optional integer is a u8 flag and the
 * value). Decoding throws `RaftDecodeError` on anything malformed.
 */
import { RaftDecodeError } from "../../codec/decode-error.ts"
import { frame, unframe } from "../../codec/frame.ts"
import { Reader } from "../../codec/reader.ts"
import { Writer } from "../../codec/writer.ts"
import type { NodeId } from "../../node/node-id.ts"
import type { CreateTopic, TopicChanges } from "../topics/topic-admin.ts"

export const LOG_REQUEST_KIND = 69
export const LOG_RESPONSE_KIND = 70
const VERSION = 1

export type LogRequestBody =
  /**
   * `append` names the append over all of its attempts (each attempt has its own request id): a node applies
   * a batch with the same sender, session and append id once, and answers a later attempt with the first
   * attempt's offsets, whichever node each attempt reached.
   */
  | { readonly op: "produce"; readonly topic: string; readonly partition: number; readonly append: number; readonly batch: Uint8Array }
  | { readonly op: "fetch"; readonly topic: string; readonly partition: number; readonly offset: number; readonly maxBytes: number }
  | { readonly op: "create-topic"; readonly create: CreateTopic }
  | { readonly op: "delete-topic"; readonly topic: string }
  | { readonly op: "grow-topic"; readonly topic: string; readonly partitions: number }
  | { readonly op: "describe-topic"; readonly topic: string }
  | { readonly op: "alter-topic"; readonly topic: string; readonly changes: TopicChanges }
  /** A producer id: a fresh one, or (named) the name's id with its epoch bumped, fencing the previous holder. */
  | { readonly op: "init-producer"; readonly name: string }
  /**
   * `committer` and `seq` order one committer's commits: a late copy or an earlier attempt of a
   * commit (the network may delay or duplicate either) never replaces a later commit of the same committer.
   */
  | { readonly op: "commit-offset"; readonly group: string; readonly topic: string; readonly partition: number; readonly offset: number; readonly metadata: string; readonly committer: string; readonly seq: number }
  | { readonly op: "fetch-offset"; readonly group: string; readonly topic: string; readonly partition: number }

/**
 * `session` is drawn at random by each client instance and `requestId` counts its requests: together
 * they name a request for its whole life (a copy or a late attempt is recognised by them).
 */
export type LogRequest = LogRequestBody & { readonly session: number; readonly requestId: number }

export type LogErrorCode =
  | "not-leader" | "not-replica" | "unknown-topic" | "unknown-partition" | "topic-exists" | "invalid-request"
  | "fenced" | "out-of-order" | "invalid-batch" | "too-large" | "offset-out-of-range" | "corrupt" | "timeout" | "unavailable"

export type LogResponseBody =
  | { readonly kind: "produced"; readonly baseOffset: number; readonly lastOffset: number; readonly duplicate: boolean }
  | {
    readonly kind: "fetched"
    readonly batches: ReadonlyArray<Uint8Array>
    readonly highWatermark: number
    readonly logStartOffset: number
    /** Transactions (Kafka's read_committed): the partition's last stable offset and the aborted ranges in the read. */
    readonly lastStableOffset: number
    readonly abortedTransactions: ReadonlyArray<AbortedRange>
  }
  /** A topic's metadata record (`topic-meta.ts`), as JSON. */
  | { readonly kind: "topic"; readonly meta: Uint8Array }
  | { readonly kind: "producer"; readonly producerId: number; readonly epoch: number }
  | { readonly kind: "offset"; readonly offset: number | undefined; readonly metadata: string }
  | { readonly kind: "ok" }
  | {
    readonly kind: "error"
    readonly code: LogErrorCode
    readonly message: string
    /** not-leader: the leader this node knows, if any. */
    readonly leader: NodeId | undefined
    /** offset-out-of-range: the partition's bounds. */
    readonly bounds: { readonly logStartOffset: number; readonly highWatermark: number } | undefined
  }

/** An aborted transaction: its producer, its first offset and its ABORT marker's offset. */
export interface AbortedRange {
  readonly producerId: number
  readonly firstOffset: number
  readonly lastOffset: number
}

export type LogResponse = LogResponseBody & { readonly requestId: number }

const ops = ["produce", "fetch", "create-topic", "delete-topic", "grow-topic", "describe-topic", "init-producer", "commit-offset", "fetch-offset", "alter-topic"] as const
const kinds = ["produced", "fetched", "topic", "producer", "offset", "ok", "error"] as const
const codes: ReadonlyArray<LogErrorCode> = [
  "not-leader", "not-replica", "unknown-topic", "unknown-partition", "topic-exists", "invalid-request",
  "fenced", "out-of-order", "invalid-batch", "too-large", "offset-out-of-range", "corrupt", "timeout", "unavailable"
]

const optional = (w: Writer, v: number | undefined) => {
  w.bool(v !== undefined)
  if (v !== undefined) w.uint(v)
}
const readOptional = (r: Reader): number | undefined => (r.bool() ? r.uint() : undefined)
/** A setting's change: u8 0 keep, 1 remove, 2 set to the uint that follows. */
const change = (w: Writer, v: number | null | undefined) => {
  w.u8(v === undefined ? 0 : v === null ? 1 : 2)
  if (v !== undefined && v !== null) w.uint(v)
}
const readChange = (r: Reader): number | null | undefined => {
  const tag = r.u8()
  if (tag > 2) throw new RaftDecodeError({ message: `log request: setting change ${tag}` })
  return tag === 0 ? undefined : tag === 1 ? null : r.uint()
}

const indexOf = <T>(list: ReadonlyArray<T>, i: number, what: string): T => {
  const v = list[i]
  if (v === undefined) throw new RaftDecodeError({ message: `unknown ${what} ${i}` })
  return v
}

const writeRequest = (w: Writer, m: LogRequestBody) => {
  switch (m.op) {
    case "produce": return (w.string(m.topic), w.uint(m.partition), w.uint(m.append), w.raw(m.batch))
    case "fetch": return (w.string(m.topic), w.uint(m.partition), w.uint(m.offset), w.uint(m.maxBytes))
    case "create-topic": {
      const c = m.create
      w.string(c.name)
      w.uint(c.partitions)
      for (const v of [c.replicationFactor, c.retentionMs, c.retentionBytes, c.maxMessageBytes, c.segmentBytes]) optional(w, v)
      return
    }
    case "delete-topic":
    case "describe-topic": return w.string(m.topic)
    case "grow-topic": return (w.string(m.topic), w.uint(m.partitions))
    case "init-producer": return w.string(m.name)
    case "commit-offset": return (w.string(m.group), w.string(m.topic), w.uint(m.partition), w.uint(m.offset), w.string(m.metadata), w.string(m.committer), w.uint(m.seq))
    case "fetch-offset": return (w.string(m.group), w.string(m.topic), w.uint(m.partition))
    case "alter-topic": return (w.string(m.topic), change(w, m.changes.retentionMs), change(w, m.changes.retentionBytes))
  }
}

const readRequest = (r: Reader, op: (typeof ops)[number]): LogRequestBody => {
  switch (op) {
    // Views, not copies, of the batches: a message is decoded once, and its batch is copied on when it is
    // proposed (the partition command) or answered (a Kafka response), as the HTTP API copies its body.
    case "produce": return { op, topic: r.string(), partition: r.uint(), append: r.uint(), batch: r.rawView() }
    case "fetch": return { op, topic: r.string(), partition: r.uint(), offset: r.uint(), maxBytes: r.uint() }
    case "create-topic": {
      const name = r.string()
      const partitions = r.uint()
      const [replicationFactor, retentionMs, retentionBytes, maxMessageBytes, segmentBytes] = [0, 1, 2, 3, 4].map(() => readOptional(r))
      const create: CreateTopic = {
        name,
        partitions,
        ...(replicationFactor === undefined ? {} : { replicationFactor }),
        ...(retentionMs === undefined ? {} : { retentionMs }),
        ...(retentionBytes === undefined ? {} : { retentionBytes }),
        ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
        ...(segmentBytes === undefined ? {} : { segmentBytes })
      }
      return { op, create }
    }
    case "delete-topic":
    case "describe-topic": return { op, topic: r.string() }
    case "grow-topic": return { op, topic: r.string(), partitions: r.uint() }
    case "init-producer": return { op, name: r.string() }
    case "commit-offset": return { op, group: r.string(), topic: r.string(), partition: r.uint(), offset: r.uint(), metadata: r.string(), committer: r.string(), seq: r.uint() }
    case "fetch-offset": return { op, group: r.string(), topic: r.string(), partition: r.uint() }
    case "alter-topic": {
      const topic = r.string()
      const [retentionMs, retentionBytes] = [readChange(r), readChange(r)]
      return { op, topic, changes: { ...(retentionMs === undefined ? {} : { retentionMs }), ...(retentionBytes === undefined ? {} : { retentionBytes }) } }
    }
  }
}

export const encodeLogRequest = (m: LogRequest): Uint8Array => {
  const w = new Writer()
  w.u8(VERSION)
  w.u32(m.session)
  w.u32(m.requestId)
  w.u8(ops.indexOf(m.op))
  writeRequest(w, m)
  return frame(LOG_REQUEST_KIND, w.finish())
}

export const decodeLogRequest = (r: Reader): LogRequest => {
  if (r.u8() !== VERSION) throw new RaftDecodeError({ message: "log request version" })
  const session = r.u32()
  const requestId = r.u32()
  const body = readRequest(r, indexOf(ops, r.u8(), "log op"))
  r.done()
  return { ...body, session, requestId }
}

const writeResponse = (w: Writer, m: LogResponseBody) => {
  switch (m.kind) {
    case "produced": return (w.uint(m.baseOffset), w.uint(m.lastOffset), w.bool(m.duplicate))
    case "fetched": {
      w.u32(m.batches.length)
      for (const b of m.batches) w.raw(b)
      w.uint(m.highWatermark)
      w.uint(m.logStartOffset)
      w.uint(m.lastStableOffset)
      w.u32(m.abortedTransactions.length)
      for (const a of m.abortedTransactions) {
        w.uint(a.producerId)
        w.uint(a.firstOffset)
        w.uint(a.lastOffset)
      }
      return
    }
    case "topic": return w.raw(m.meta)
    case "producer": return (w.uint(m.producerId), w.uint(m.epoch))
    case "offset": return (optional(w, m.offset), w.string(m.metadata))
    case "ok": return
    case "error": {
      w.u8(codes.indexOf(m.code))
      w.string(m.message)
      w.string(m.leader ?? "")
      optional(w, m.bounds?.logStartOffset)
      optional(w, m.bounds?.highWatermark)
      return
    }
  }
}

const readResponse = (r: Reader, kind: (typeof kinds)[number]): LogResponseBody => {
  switch (kind) {
    case "produced": return { kind, baseOffset: r.uint(), lastOffset: r.uint(), duplicate: r.bool() }
    case "fetched": {
      const n = r.u32()
      const batches: Array<Uint8Array> = []
      for (let i = 0; i < n; i++) batches.push(r.rawView())
      const highWatermark = r.uint()
      const logStartOffset = r.uint()
      const lastStableOffset = r.uint()
      const abortedTransactions: Array<AbortedRange> = []
      for (let a = r.u32(); a > 0; a--) abortedTransactions.push({ producerId: r.uint(), firstOffset: r.uint(), lastOffset: r.uint() })
      return { kind, batches, highWatermark, logStartOffset, lastStableOffset, abortedTransactions }
    }
    case "topic": return { kind, meta: r.raw() }
    case "producer": return { kind, producerId: r.uint(), epoch: r.uint() }
    case "offset": return { kind, offset: readOptional(r), metadata: r.string() }
    case "ok": return { kind }
    case "error": {
      const code = indexOf(codes, r.u8(), "log error code")
      const message = r.string()
      const leader = r.string()
      const start = readOptional(r)
      const end = readOptional(r)
      const bounds = start === undefined || end === undefined ? undefined : { logStartOffset: start, highWatermark: end }
      return { kind, code, message, leader: leader === "" ? undefined : (leader as NodeId), bounds }
    }
  }
}

export const encodeLogResponse = (m: LogResponse): Uint8Array => {
  const w = new Writer()
  w.u8(VERSION)
  w.u32(m.requestId)
  w.u8(kinds.indexOf(m.kind))
  writeResponse(w, m)
  return frame(LOG_RESPONSE_KIND, w.finish())
}

/** The body of a log response frame (after its frame header); throws `RaftDecodeError` if it is malformed. */
export const decodeLogResponse = (body: Reader): LogResponse => {
  const version = body.u8()
  if (version !== VERSION) throw new RaftDecodeError({ message: `log response version ${version}` })
  const requestId = body.u32()
  const response = readResponse(body, indexOf(kinds, body.u8(), "log response kind"))
  body.done()
  return { ...response, requestId }
}

/** A frame's log response, or undefined if it is another kind or damaged. */
export const parseLogResponse = (bytes: Uint8Array): LogResponse | undefined => {
  try {
    const { kind, body } = unframe(bytes)
    if (kind !== LOG_RESPONSE_KIND) return undefined
    return decodeLogResponse(body)
  } catch {
    return undefined
  }
}

/** An error answer. */
export const errorBody = (code: LogErrorCode, message: string, extra: { readonly leader?: NodeId | undefined; readonly bounds?: { readonly logStartOffset: number; readonly highWatermark: number } } = {}): LogResponseBody => ({
  kind: "error",
  code,
  message,
  leader: extra.leader,
  bounds: extra.bounds
})
