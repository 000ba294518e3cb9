/**
 * The key-value store's commands and results, and their binary encoding.
 *
 * A `SessionCommand` is what a Raft entry carries: a command plus the
 * client's session (clientId, seq) that makes retries apply exactly once
 * (see `sessions.ts`). A `KvResult` is what applying it returns, and what the
 * server sends back.
 *
 * Encoding, version 1 (big-endian, integers as in `codec/writer.ts`):
 * - session command: u8 version, string clientId, uint seq, u8 op, then per op
 *   put: string key, bytes value | delete: string key |
 *   cas: string key, u8 expected kind (0 absent, 1 revision) [uint revision],
 *        u8 has value [bytes value] | get: string key |
 *   range: string start, u8 has end [string end], uint limit
 * - result: u8 version, u8 type, then its fields in declaration order.
 *
 * No checksum here: Raft's log and messages already checksum the entries
 * that carry these bytes. Decoding throws only `RaftDecodeError` (on any
 * input whatsoever); size limits are not decoding errors but typed `error`
 * results of the state machine (`validateCommand`), so an oversized key gets
 * an answer, not a dropped entry.
 */
import { RaftDecodeError } from "../codec/decode-error.ts"
import { Reader } from "../codec/reader.ts"
import { Writer } from "../codec/writer.ts"
import { MAX_KEY_BYTES, MAX_VALUE_BYTES, utf8Length } from "./keys.ts"

export type KvCommand =
  | { readonly op: "put"; readonly key: string; readonly value: Uint8Array }
  | { readonly op: "delete"; readonly key: string }
  /**
   * Compare-and-set on the key's modification revision: "absent" (or 0)
   * succeeds only if the key does not exist; an undefined value deletes.
   */
  | {
      readonly op: "cas"
      readonly key: string
      readonly expected: number | "absent"
      readonly value: Uint8Array | undefined
    }
  | { readonly op: "get"; readonly key: string }
  /** Keys in [start, end) in key order; end undefined = to the last key. */
  | { readonly op: "range"; readonly start: string; readonly end: string | undefined; readonly limit: number }

/** What goes in a Raft entry: a command within a client's session. */
export interface SessionCommand {
  readonly clientId: string
  /** The client's sequence number for this command; a retry reuses it. */
  readonly seq: number
  readonly command: KvCommand
}

export interface RangeItem {
  readonly key: string
  readonly value: Uint8Array
  readonly revision: number
}

export type KvErrorCode = "bad-command" | "stale-sequence" | "key-too-large" | "value-too-large"

export interface PutResult {
  readonly type: "put"
  readonly revision: number
}
export interface DeleteResult {
  readonly type: "delete"
  readonly revision: number
  readonly existed: boolean
}
/** On success `revision` is the new one; on failure the key's current mod revision (0 if absent). */
export interface CasResult {
  readonly type: "cas"
  readonly ok: boolean
  readonly revision: number
}
/** Not found: an empty value and revision 0. */
export interface GetResult {
  readonly type: "get"
  readonly found: boolean
  readonly value: Uint8Array
  readonly revision: number
}
/** `more`: keys in the range were left out (by the limit or the byte budget). */
export interface RangeResult {
  readonly type: "range"
  readonly items: ReadonlyArray<RangeItem>
  readonly more: boolean
}
export interface ErrorResult {
  readonly type: "error"
  readonly code: KvErrorCode
  readonly message: string
}

export type KvResult = PutResult | DeleteResult | CasResult | GetResult | RangeResult | ErrorResult

/** A range returns at most this many items per call... */
export const MAX_RANGE_LIMIT = 10_000
/** ...and stops after the item that takes its key and value bytes past this (so at least one item fits). */
export const RANGE_BYTE_BUDGET = 4 * 1024 * 1024
/** Client ids are non-empty and at most this many UTF-8 bytes (they are kept per session). */
export const MAX_CLIENT_ID_BYTES = 128

const VERSION = 1
const ops = ["put", "delete", "cas", "get", "range"] as const
const resultTypes = ["put", "delete", "cas", "get", "range", "error"] as const
const errorCodes = ["bad-command", "stale-sequence", "key-too-large", "value-too-large"] as const

export const errorResult = (code: KvErrorCode, message: string): ErrorResult => ({ type: "error", code, message })

const checkKey = (key: string, what: string, allowEmpty: boolean): ErrorResult | undefined => {
  if (key.length === 0 && !allowEmpty) return errorResult("bad-command", `${what} is empty`)
  // A UTF-16 length of n is at most 3n UTF-8 bytes: skip the count for short keys.
  if (key.length * 3 > MAX_KEY_BYTES && utf8Length(key) > MAX_KEY_BYTES)
    return errorResult("key-too-large", `${what} is longer than ${MAX_KEY_BYTES} bytes`)
  return undefined
}

const checkValue = (value: Uint8Array): ErrorResult | undefined =>
  value.length > MAX_VALUE_BYTES
    ? errorResult("value-too-large", `value of ${value.length} bytes is longer than ${MAX_VALUE_BYTES}`)
    : undefined

/** Why the state machine would refuse `command`, or undefined if it is well-formed. Clients may check early. */
export const validateCommand = (command: KvCommand): ErrorResult | undefined => {
  switch (command.op) {
    case "put":
      return checkKey(command.key, "key", false) ?? checkValue(command.value)
    case "delete":
    case "get":
      return checkKey(command.key, "key", false)
    case "cas":
      if (command.expected !== "absent" && !(Number.isSafeInteger(command.expected) && command.expected >= 0))
        return errorResult("bad-command", `expected revision ${command.expected} is not a non-negative integer`)
      return (
        checkKey(command.key, "key", false) ?? (command.value === undefined ? undefined : checkValue(command.value))
      )
    case "range":
      if (!Number.isSafeInteger(command.limit) || command.limit < 1 || command.limit > MAX_RANGE_LIMIT)
        return errorResult("bad-command", `range limit ${command.limit} is not in 1..${MAX_RANGE_LIMIT}`)
      return (
        checkKey(command.start, "range start", true) ??
        (command.end === undefined ? undefined : checkKey(command.end, "range end", true))
      )
  }
}

/** Why a session's client id is unusable, or undefined. */
export const validateClientId = (clientId: string): ErrorResult | undefined =>
  clientId.length === 0 || utf8Length(clientId) > MAX_CLIENT_ID_BYTES
    ? errorResult("bad-command", `client id must be 1..${MAX_CLIENT_ID_BYTES} bytes`)
    : undefined

const writeCommand = (w: Writer, c: KvCommand): void => {
  w.u8(ops.indexOf(c.op))
  switch (c.op) {
    case "put":
      w.string(c.key)
      w.raw(c.value)
      break
    case "delete":
    case "get":
      w.string(c.key)
      break
    case "cas":
      w.string(c.key)
      if (c.expected === "absent") w.u8(0)
      else {
        w.u8(1)
        w.uint(c.expected)
      }
      if (c.value === undefined) w.u8(0)
      else {
        w.u8(1)
        w.raw(c.value)
      }
      break
    case "range":
      w.string(c.start)
      if (c.end === undefined) w.u8(0)
      else {
        w.u8(1)
        w.string(c.end)
      }
      w.uint(c.limit)
      break
  }
}

const readCommand = (r: Reader): KvCommand => {
  const op = ops[r.u8()]
  switch (op) {
    case "put":
      return { op, key: r.string(), value: r.raw() }
    case "delete":
    case "get":
      return { op, key: r.string() }
    case "cas": {
      const key = r.string()
      const expected = r.bool() ? r.uint() : "absent"
      const value = r.bool() ? r.raw() : undefined
      return { op, key, expected, value }
    }
    case "range": {
      const start = r.string()
      const end = r.bool() ? r.string() : undefined
      return { op, start, end, limit: r.uint() }
    }
    case undefined:
      throw new RaftDecodeError({ message: "unknown kv op" })
  }
}

const checkVersion = (r: Reader): void => {
  const version = r.u8()
  if (version !== VERSION) throw new RaftDecodeError({ message: `unsupported kv encoding version ${version}` })
}

/**
 * Encodes a command for a Raft entry. `seq`, a numeric cas `expected` and a
 * range `limit` must be non-negative safe integers (an invariant: the
 * encoder asserts it); every other limit is checked when applied.
 */
export const encodeSessionCommand = (s: SessionCommand): Uint8Array => {
  const w = new Writer()
  w.u8(VERSION)
  w.string(s.clientId)
  w.uint(s.seq)
  writeCommand(w, s.command)
  return w.finish()
}

/** Decodes a Raft entry's command; throws `RaftDecodeError` on any malformed input, never anything else. */
export const decodeSessionCommand = (bytes: Uint8Array): SessionCommand => {
  const r = new Reader(bytes)
  checkVersion(r)
  const clientId = r.string()
  const seq = r.uint()
  const command = readCommand(r)
  r.done()
  return { clientId, seq, command }
}

/** Writes a result's fields (after its version byte); shared with the snapshot's session table. */
export const writeResult = (w: Writer, result: KvResult): void => {
  w.u8(resultTypes.indexOf(result.type))
  switch (result.type) {
    case "put":
      w.uint(result.revision)
      break
    case "delete":
      w.uint(result.revision)
      w.bool(result.existed)
      break
    case "cas":
      w.bool(result.ok)
      w.uint(result.revision)
      break
    case "get":
      w.bool(result.found)
      w.raw(result.value)
      w.uint(result.revision)
      break
    case "range":
      w.u32(result.items.length)
      for (const item of result.items) {
        w.string(item.key)
        w.raw(item.value)
        w.uint(item.revision)
      }
      w.bool(result.more)
      break
    case "error":
      w.u8(errorCodes.indexOf(result.code))
      w.string(result.message)
      break
  }
}

export const readResult = (r: Reader): KvResult => {
  const type = resultTypes[r.u8()]
  switch (type) {
    case "put":
      return { type, revision: r.uint() }
    case "delete":
      return { type, revision: r.uint(), existed: r.bool() }
    case "cas":
      return { type, ok: r.bool(), revision: r.uint() }
    case "get":
      return { type, found: r.bool(), value: r.raw(), revision: r.uint() }
    case "range": {
      const n = r.u32()
      // Each item takes at least 16 bytes, so a forged count cannot make us loop for long.
      if (n > MAX_RANGE_LIMIT) throw new RaftDecodeError({ message: `range result of ${n} items` })
      const items: Array<RangeItem> = []
      for (let i = 0; i < n; i++) items.push({ key: r.string(), value: r.raw(), revision: r.uint() })
      return { type, items, more: r.bool() }
    }
    case "error": {
      const code = errorCodes[r.u8()]
      if (code === undefined) throw new RaftDecodeError({ message: "unknown kv error code" })
      return { type, code, message: r.string() }
    }
    case undefined:
      throw new RaftDecodeError({ message: "unknown kv result type" })
  }
}

export const encodeResult = (result: KvResult): Uint8Array => {
  const w = new Writer()
  w.u8(VERSION)
  writeResult(w, result)
  return w.finish()
}

/** Decodes a result; throws `RaftDecodeError` on any malformed input, never anything else. */
export const decodeResult = (bytes: Uint8Array): KvResult => {
  const r = new Reader(bytes)
  checkVersion(r)
  const result = readResult(r)
  r.done()
  return result
}
