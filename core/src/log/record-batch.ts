/**
 * Kafka's RecordBatch v2 ("magic 2"): the unit the streaming log stores,
 * exactly as a producer sends it, so a batch is checked by the same CRC32C
 * from the client to the segment file and back to a consumer.
 *
 * Layout, big-endian (offsets in bytes):
 *
 *    0  int64  baseOffset            assigned by the log at append
 *    8  int32  batchLength           bytes after this field (total - 12)
 *   12  int32  partitionLeaderEpoch
 *   16  int8   magic = 2
 *   17  uint32 crc                   CRC32C over bytes 21 .. end
 *   21  int16  attributes            bits 0-2 compression, 3 timestamp type,
 *                                    4 transactional, 5 control, 6 delete horizon
 *   23  int32  lastOffsetDelta
 *   27  int64  baseTimestamp
 *   35  int64  maxTimestamp
 *   43  int64  producerId
 *   51  int16  producerEpoch
 *   53  int32  baseSequence
 *   57  int32  records count
 *   61  records: each a zigzag varint length, then int8 attributes, varlong
 *       timestampDelta, varint offsetDelta, varint keyLength (-1: null) and
 *       key, varint valueLength (-1: null) and value, varint header count,
 *       and per header a varint key length, UTF-8 key, varint value length
 *       (-1: null) and value.
 *
 * The CRC does not cover baseOffset, batchLength or partitionLeaderEpoch
 * (the broker rewrites the first and the last without recomputing it). A
 * damaged length is still caught (the CRC then runs over other bytes, or
 * the batch overruns); a damaged baseOffset is caught by the segment, which
 * checks that offsets follow each other; a damaged partitionLeaderEpoch is
 * not caught by anything here (Raft keeps terms in its own log).
 *
 * Every decoder returns a `Result`: malformed bytes are a typed
 * `BatchFormatError`, never a throw and never a wrong value. Offsets and
 * timestamps are numbers, so int64 fields past ±2^53 are refused.
 */
import { Result } from "effect"
import { crc32c } from "../checksum/crc32c.ts"
import { assert } from "../invariant/invariant.ts"
import { BatchFormatError, type BatchFault } from "./log-error.ts"
import { readVarint, VarintError, writeVarint } from "./varint.ts"

/** baseOffset and batchLength: the bytes `batchLength` does not count. */
export const LOG_OVERHEAD = 12
/** The fixed header up to the first record. */
export const BATCH_OVERHEAD = 61
export const MAGIC_V2 = 2
/** Where the CRC-covered bytes start (attributes). */
export const CRC_START = 21

export const Field = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57
} as const

/** The compression codec in attributes bits 0-2 (0: none). */
export const compressionOf = (attributes: number): number => attributes & 0x07
export const ATTR_TRANSACTIONAL = 0x10
export const ATTR_CONTROL = 0x20

export interface BatchHeader {
  readonly baseOffset: number
  /** Bytes after the batchLength field; the whole batch is `LOG_OVERHEAD + batchLength`. */
  readonly batchLength: number
  readonly partitionLeaderEpoch: number
  readonly crc: number
  readonly attributes: number
  readonly lastOffsetDelta: number
  readonly baseTimestamp: number
  readonly maxTimestamp: number
  readonly producerId: number
  readonly producerEpoch: number
  readonly baseSequence: number
  readonly recordCount: number
}

/** The whole batch's size in bytes. */
export const batchSize = (h: BatchHeader): number => LOG_OVERHEAD + h.batchLength
/** The offset of the batch's last record. */
export const lastOffsetOf = (h: BatchHeader): number => h.baseOffset + h.lastOffsetDelta

export interface RecordHeader {
  readonly key: string
  readonly value: Uint8Array | null
}

export interface LogRecord {
  readonly attributes: number
  readonly timestampDelta: number
  readonly offsetDelta: number
  readonly key: Uint8Array | null
  readonly value: Uint8Array | null
  readonly headers: ReadonlyArray<RecordHeader>
}

const fault = (kind: BatchFault, message: string) => new BatchFormatError({ fault: kind, message })

const int64At = (view: DataView, at: number, name: string): number => {
  const v = view.getBigInt64(at)
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw fault("bad-field", `${name} ${v} is outside the safe integer range`)
  }
  return Number(v)
}

/** Header checks other than the CRC; throws `BatchFormatError`. */
const parseHeader = (bytes: Uint8Array, at: number, end: number): BatchHeader => {
  if (end - at < BATCH_OVERHEAD) throw fault("truncated", `${end - at} bytes, a batch header needs ${BATCH_OVERHEAD}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, BATCH_OVERHEAD)
  const batchLength = view.getInt32(Field.batchLength)
  if (batchLength < BATCH_OVERHEAD - LOG_OVERHEAD) throw fault("bad-length", `batch length ${batchLength} is below the header's`)
  if (LOG_OVERHEAD + batchLength > end - at) {
    throw fault("truncated", `batch length ${batchLength} runs past the ${end - at - LOG_OVERHEAD} bytes there`)
  }
  const magic = view.getInt8(Field.magic)
  if (magic !== MAGIC_V2) throw fault("bad-magic", `magic ${magic}, expected ${MAGIC_V2}`)
  const header: BatchHeader = {
    baseOffset: int64At(view, Field.baseOffset, "baseOffset"),
    batchLength,
    partitionLeaderEpoch: view.getInt32(Field.partitionLeaderEpoch),
    crc: view.getUint32(Field.crc),
    attributes: view.getInt16(Field.attributes),
    lastOffsetDelta: view.getInt32(Field.lastOffsetDelta),
    baseTimestamp: int64At(view, Field.baseTimestamp, "baseTimestamp"),
    maxTimestamp: int64At(view, Field.maxTimestamp, "maxTimestamp"),
    producerId: int64At(view, Field.producerId, "producerId"),
    producerEpoch: view.getInt16(Field.producerEpoch),
    baseSequence: view.getInt32(Field.baseSequence),
    recordCount: view.getInt32(Field.recordCount)
  }
  if (header.baseOffset < 0) throw fault("bad-field", `negative baseOffset ${header.baseOffset}`)
  if (header.lastOffsetDelta < 0) throw fault("bad-field", `negative lastOffsetDelta ${header.lastOffsetDelta}`)
  if (header.recordCount < 0) throw fault("bad-field", `negative record count ${header.recordCount}`)
  return header
}

const catching = <A>(body: () => A): Result.Result<A, BatchFormatError> => {
  try {
    return Result.succeed(body())
  } catch (error) {
    if (error instanceof BatchFormatError) return Result.fail(error)
    if (error instanceof VarintError) return Result.fail(fault("bad-record", error.message))
    throw error
  }
}

/** Header checks and the CRC of the batch that starts at `at`; throws `BatchFormatError`. */
const verifyAt = (bytes: Uint8Array, at: number, end: number): BatchHeader => {
  const h = parseHeader(bytes, at, end)
  const actual = crc32c(bytes, at + CRC_START, at + batchSize(h))
  if (actual !== h.crc) throw fault("checksum", `CRC32C ${actual.toString(16)} does not match the stored ${h.crc.toString(16)}`)
  return h
}

/**
 * Verifies the batch that starts at `at` in `bytes[..end)` — length, magic,
 * fields, CRC — without decoding its records. It may be followed by more
 * bytes (the next batch of a segment).
 */
export const verifyBatchAt = (bytes: Uint8Array, at: number, end: number): Result.Result<BatchHeader, BatchFormatError> =>
  catching(() => verifyAt(bytes, at, end))

/** Verifies that `bytes` is exactly one intact batch, without decoding its records. */
export const verifyBatch = (bytes: Uint8Array): Result.Result<BatchHeader, BatchFormatError> =>
  catching(() => {
    const h = verifyAt(bytes, 0, bytes.length)
    if (batchSize(h) !== bytes.length) throw fault("bad-length", `batch length says ${batchSize(h)} bytes, ${bytes.length} given`)
    return h
  })

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const encoder = new TextEncoder()

/**
 * A cursor over one record's bytes; every overrun is a `BatchFormatError`. With `copy` false it
 * hands out views into the batch instead of copies: checking a batch's records allocates nothing.
 */
class RecordCursor {
  private readonly bytes: Uint8Array
  private readonly end: number
  private readonly copy: boolean
  at: number

  constructor(bytes: Uint8Array, at: number, end: number, copy: boolean) {
    this.bytes = bytes
    this.at = at
    this.end = end
    this.copy = copy
  }
  varint(wide = false): number {
    const d = readVarint(this.bytes, this.at, this.end, wide)
    this.at = d.next
    return d.value
  }
  take(n: number, what: string): Uint8Array {
    if (n < 0 || this.at + n > this.end) throw fault("bad-record", `${what} of ${n} bytes runs past its record`)
    const out = this.copy ? this.bytes.slice(this.at, this.at + n) : this.bytes.subarray(this.at, this.at + n)
    this.at += n
    return out
  }
  nullable(what: string): Uint8Array | null {
    const n = this.varint()
    if (n === -1) return null
    return this.take(n, what)
  }
}

const decodeRecord = (bytes: Uint8Array, at: number, end: number, h: BatchHeader, copy: boolean): { record: LogRecord; next: number } => {
  const length = readVarint(bytes, at, end, false)
  if (length.value < 0 || length.next + length.value > end) throw fault("bad-record", `record length ${length.value} at byte ${at} runs past the batch`)
  const recordEnd = length.next + length.value
  const c = new RecordCursor(bytes, length.next, recordEnd, copy)
  const attributes = c.take(1, "attributes")[0]!
  const timestampDelta = c.varint(true)
  const offsetDelta = c.varint()
  if (offsetDelta < 0 || offsetDelta > h.lastOffsetDelta) throw fault("bad-record", `offset delta ${offsetDelta} outside 0..${h.lastOffsetDelta}`)
  const key = c.nullable("key")
  const value = c.nullable("value")
  const headerCount = c.varint()
  if (headerCount < 0) throw fault("bad-record", `negative header count ${headerCount}`)
  const headers: Array<RecordHeader> = []
  for (let i = 0; i < headerCount; i++) {
    const keyBytes = c.take(c.varint(), "header key")
    let headerKey: string
    try {
      headerKey = decoder.decode(keyBytes)
    } catch {
      throw fault("bad-record", "header key is not valid UTF-8")
    }
    headers.push({ key: headerKey, value: c.nullable("header value") })
  }
  if (c.at !== recordEnd) throw fault("bad-record", `${recordEnd - c.at} trailing bytes in the record at byte ${at}`)
  return { record: { attributes, timestampDelta, offsetDelta, key, value, headers }, next: recordEnd }
}

/** The records of a verified uncompressed batch, copied out or (`copy` false) as views into it; throws `BatchFormatError`. */
const readRecords = (bytes: Uint8Array, header: BatchHeader, copy: boolean): Array<LogRecord> => {
  const records: Array<LogRecord> = []
  let at = BATCH_OVERHEAD
  for (let i = 0; i < header.recordCount; i++) {
    const r = decodeRecord(bytes, at, bytes.length, header, copy)
    records.push(r.record)
    at = r.next
  }
  if (at !== bytes.length) throw fault("bad-record", `${bytes.length - at} bytes after the ${header.recordCount} records`)
  return records
}

/** Verifies `bytes` as one batch and decodes its records (uncompressed batches only). */
export const decodeBatch = (
  bytes: Uint8Array
): Result.Result<{ readonly header: BatchHeader; readonly records: ReadonlyArray<LogRecord> }, BatchFormatError> =>
  Result.flatMap(verifyBatch(bytes), (header) =>
    catching(() => {
      const codec = compressionOf(header.attributes)
      if (codec !== 0) throw fault("unsupported-compression", `compression codec ${codec} is not decoded here`)
      return { header, records: readRecords(bytes, header, true) }
    })
  )

/**
 * What the log accepts: `bytes` is exactly one intact batch (length, magic, fields, CRC) and, when
 * uncompressed, its records parse as `decodeBatch` parses them. One CRC pass and no copies: it runs
 * on every append (the partition's state machine, the segment log).
 */
export const checkBatch = (bytes: Uint8Array): Result.Result<BatchHeader, BatchFormatError> =>
  Result.flatMap(verifyBatch(bytes), (header) =>
    compressionOf(header.attributes) !== 0 ? Result.succeed(header) : catching(() => (readRecords(bytes, header, false), header))
  )

/** What `encodeBatch` builds. Omitted fields take Kafka's "none" values. */
export interface BatchInput {
  readonly baseOffset?: number
  readonly partitionLeaderEpoch?: number
  /** Compression bits must be 0: this encoder writes uncompressed records. */
  readonly attributes?: number
  readonly baseTimestamp: number
  /** Default: baseTimestamp plus the largest timestampDelta. */
  readonly maxTimestamp?: number
  /** Default: the largest offsetDelta (0 for no records). */
  readonly lastOffsetDelta?: number
  readonly producerId?: number
  readonly producerEpoch?: number
  readonly baseSequence?: number
  readonly records: ReadonlyArray<LogRecord>
}

const recordBody = (r: LogRecord): Array<number> => {
  const out: Array<number> = [r.attributes & 0xff]
  writeVarint(out, r.timestampDelta)
  writeVarint(out, r.offsetDelta)
  return out
}

/** Appends a nullable byte string: its varint length (-1: null), then the bytes. */
const pushNullable = (parts: Array<Uint8Array>, value: Uint8Array | null): number => {
  const len: Array<number> = []
  writeVarint(len, value === null ? -1 : value.length)
  parts.push(Uint8Array.from(len))
  if (value !== null) parts.push(value)
  return len.length + (value?.length ?? 0)
}

const encodeRecord = (r: LogRecord): Array<Uint8Array> => {
  const parts: Array<Uint8Array> = [Uint8Array.from(recordBody(r))]
  let size = parts[0]!.length
  size += pushNullable(parts, r.key)
  size += pushNullable(parts, r.value)
  const count: Array<number> = []
  writeVarint(count, r.headers.length)
  parts.push(Uint8Array.from(count))
  size += count.length
  for (const h of r.headers) {
    const key = encoder.encode(h.key)
    size += pushNullable(parts, key) + pushNullable(parts, h.value)
  }
  const length: Array<number> = []
  writeVarint(length, size)
  return [Uint8Array.from(length), ...parts]
}

/** Encodes an uncompressed v2 batch; the input's invariants are asserted (it comes from our own code). */
export const encodeBatch = (input: BatchInput): Uint8Array => {
  const attributes = input.attributes ?? 0
  assert(compressionOf(attributes) === 0, "encodeBatch writes uncompressed batches only")
  const maxDelta = input.records.reduce((m, r) => Math.max(m, r.offsetDelta), 0)
  const lastOffsetDelta = input.lastOffsetDelta ?? maxDelta
  assert(lastOffsetDelta >= maxDelta, "lastOffsetDelta below a record's offset delta")
  const maxTimestamp = input.maxTimestamp ?? input.baseTimestamp + input.records.reduce((m, r) => Math.max(m, r.timestampDelta), 0)
  const records = input.records.flatMap(encodeRecord)
  const recordBytes = records.reduce((n, p) => n + p.length, 0)
  const out = new Uint8Array(BATCH_OVERHEAD + recordBytes)
  const view = new DataView(out.buffer)
  view.setBigInt64(Field.baseOffset, BigInt(input.baseOffset ?? 0))
  view.setInt32(Field.batchLength, out.length - LOG_OVERHEAD)
  view.setInt32(Field.partitionLeaderEpoch, input.partitionLeaderEpoch ?? -1)
  view.setInt8(Field.magic, MAGIC_V2)
  view.setInt16(Field.attributes, attributes)
  view.setInt32(Field.lastOffsetDelta, lastOffsetDelta)
  view.setBigInt64(Field.baseTimestamp, BigInt(input.baseTimestamp))
  view.setBigInt64(Field.maxTimestamp, BigInt(maxTimestamp))
  view.setBigInt64(Field.producerId, BigInt(input.producerId ?? -1))
  view.setInt16(Field.producerEpoch, input.producerEpoch ?? -1)
  view.setInt32(Field.baseSequence, input.baseSequence ?? -1)
  view.setInt32(Field.recordCount, input.records.length)
  let at = BATCH_OVERHEAD
  for (const p of records) {
    out.set(p, at)
    at += p.length
  }
  view.setUint32(Field.crc, crc32c(out, CRC_START, out.length))
  return out
}

/** The baseOffset field of a batch of at least the fixed header's size. */
export const baseOffsetOf = (batch: Uint8Array): number =>
  Number(new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getBigInt64(Field.baseOffset))

/** A copy of `batch` with its baseOffset set (the field lies outside the CRC, which stays valid). */
export const withBaseOffset = (batch: Uint8Array, baseOffset: number): Uint8Array => {
  assert(Number.isSafeInteger(baseOffset) && baseOffset >= 0, () => `bad base offset ${baseOffset}`)
  const out = batch.slice()
  new DataView(out.buffer).setBigInt64(Field.baseOffset, BigInt(baseOffset))
  return out
}
