/**
 * Records of the HTTP log API as JSON: a produce body's records into one
 * Kafka RecordBatch v2 (uncompressed, no producer id, the node's wall clock
 * as its timestamp), and fetched batches back into records with their
 * offsets and headers. Keys, values and header values are UTF-8 text by
 * default or base64 (`encoding`); under utf8 a fetched key or value that is
 * not UTF-8 comes as `keyBase64` / `valueBase64`, never lossy.
 */
import { Result } from "effect"
import { Base64 } from "effect/encoding"
import { decodeBatch, encodeBatch, Field, type LogRecord, type RecordHeader } from "../log/record-batch.ts"

export type RecordEncoding = "utf8" | "base64"

/** At most this many records in one produce body (each becomes a record of one batch). */
export const MAX_RECORDS_PER_PRODUCE = 100_000

const encoder = new TextEncoder()
const utf8Strict = new TextDecoder("utf-8", { fatal: true })

const bytesOf = (field: unknown, encoding: RecordEncoding, what: string): Uint8Array | null | string => {
  if (field === undefined || field === null) return null
  if (typeof field !== "string") return `${what} must be a string or null`
  if (encoding === "utf8") return encoder.encode(field)
  const decoded = Base64.decode(field)
  return Result.isSuccess(decoded) ? decoded.success : `${what} is not base64`
}

/** A record's `headers`: `[{"key": "trace-id", "value": "…"}]` (a key may repeat, as Kafka allows; a value may be null). */
const headersOf = (field: unknown, encoding: RecordEncoding, what: string): Array<RecordHeader> | string => {
  if (field === undefined || field === null) return []
  if (!Array.isArray(field)) return `${what} must be a list of {"key", "value"}`
  const out: Array<RecordHeader> = []
  for (const [i, h] of (field as ReadonlyArray<unknown>).entries()) {
    if (typeof h !== "object" || h === null || typeof (h as { key?: unknown }).key !== "string") return `${what}[${i}] must be {"key": "name", "value": "..."}`
    const value = bytesOf((h as { value?: unknown }).value, encoding, `${what}[${i}].value`)
    if (typeof value === "string") return value
    out.push({ key: (h as { key: string }).key, value })
  }
  return out
}

/**
 * The batch a JSON produce body describes (`{"records": [{"key"?, "value", "headers"?}], "encoding"?}`), or
 * what is wrong with it.
 */
export const batchFromJson = (body: unknown, timestampMs: number): Uint8Array | string => {
  if (typeof body !== "object" || body === null || !Array.isArray((body as { records?: unknown }).records)) {
    return 'expected {"records": [{"key": "k", "value": "v"}, ...]} (key optional; "encoding": "base64" for binary keys and values)'
  }
  const { records, encoding = "utf8" } = body as { records: ReadonlyArray<unknown>; encoding?: unknown }
  if (encoding !== "utf8" && encoding !== "base64") return `encoding must be utf8 or base64, got ${JSON.stringify(encoding)}`
  if (records.length === 0 || records.length > MAX_RECORDS_PER_PRODUCE) return `a produce takes 1..${MAX_RECORDS_PER_PRODUCE} records`
  const out: Array<LogRecord> = []
  for (const [i, r] of records.entries()) {
    if (typeof r !== "object" || r === null) return `records[${i}] must be an object {"key", "value"}`
    const key = bytesOf((r as { key?: unknown }).key, encoding, `records[${i}].key`)
    const value = bytesOf((r as { value?: unknown }).value, encoding, `records[${i}].value`)
    if (typeof key === "string") return key
    if (typeof value === "string") return value
    const headers = headersOf((r as { headers?: unknown }).headers, encoding, `records[${i}].headers`)
    if (typeof headers === "string") return headers
    out.push({ attributes: 0, timestampDelta: 0, offsetDelta: i, key, value, headers })
  }
  return encodeBatch({ baseTimestamp: timestampMs, records: out })
}

/**
 * The one key every record of a produce body carries, as bytes (a produce by key puts the whole body in
 * that key's partition), or what is wrong. Call it on a body `batchFromJson` accepted.
 */
export const sharedKey = (body: unknown): Uint8Array | string => {
  const { records, encoding = "utf8" } = body as { records: ReadonlyArray<{ readonly key?: unknown }>; encoding?: RecordEncoding }
  const keys = new Set(records.map((r) => r.key))
  const [key] = keys
  if (keys.size !== 1 || typeof key !== "string") {
    return "a produce by key needs every record to carry the same key (Kafka's partitioner puts each key in its own partition); to write records without a key, choose a partition"
  }
  const bytes = bytesOf(key, encoding, "the key")
  return typeof bytes === "string" || bytes === null ? "the key is not valid" : bytes
}

const textOf = (bytes: Uint8Array | null, encoding: RecordEncoding, name: "key" | "value"): Record<string, string | null> => {
  if (bytes === null) return { [name]: null }
  if (encoding === "base64") return { [name]: Base64.encode(bytes) }
  try {
    return { [name]: utf8Strict.decode(bytes) }
  } catch {
    return { [`${name}Base64`]: Base64.encode(bytes) }
  }
}

export interface JsonRecords {
  readonly records: ReadonlyArray<Record<string, unknown>>
  /** Batches whose records this build cannot decode (compressed), by offsets: skipped, never hidden. */
  readonly undecoded: ReadonlyArray<{ readonly baseOffset: number; readonly lastOffset: number; readonly reason: string }>
  /** The offset after the last batch returned (`from` when none). */
  readonly nextOffset: number
}

/** The records at or above `from` in fetched batches (a fetch starts at the batch holding `from`). */
export const recordsFromBatches = (batches: ReadonlyArray<Uint8Array>, from: number, encoding: RecordEncoding): JsonRecords => {
  const records: Array<Record<string, unknown>> = []
  const undecoded: Array<{ baseOffset: number; lastOffset: number; reason: string }> = []
  let nextOffset = from
  for (const batch of batches) {
    const decoded = decodeBatch(batch)
    if (Result.isFailure(decoded)) {
      // Stored batches passed their CRC on the way out; only a compressed one lands here.
      const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength)
      const baseOffset = Number(view.getBigInt64(Field.baseOffset))
      const lastOffset = baseOffset + view.getInt32(Field.lastOffsetDelta)
      undecoded.push({ baseOffset, lastOffset, reason: decoded.failure.message })
      nextOffset = Math.max(nextOffset, lastOffset + 1)
      continue
    }
    const { header } = decoded.success
    for (const r of decoded.success.records) {
      const offset = header.baseOffset + r.offsetDelta
      if (offset < from) continue
      const headers = r.headers.length === 0 ? {} : { headers: r.headers.map((h) => ({ key: h.key, ...textOf(h.value, encoding, "value") })) }
      records.push({ offset, timestamp: header.baseTimestamp + r.timestampDelta, ...textOf(r.key, encoding, "key"), ...textOf(r.value, encoding, "value"), ...headers })
    }
    nextOffset = Math.max(nextOffset, header.baseOffset + header.lastOffsetDelta + 1)
  }
  return { records, undecoded, nextOffset }
}
