/**
 * Reading the KV API's parameters from a request — the key in the path,
 * `consistency`, the conditional-write headers, a list's query — each
 * either a value or the 400 that says what is wrong with it. Pure
 * functions: no KV call happens before a request's parameters are valid.
 */
import { MAX_RANGE_LIMIT } from "../kv/command.ts"
import { MAX_KEY_BYTES, utf8Length } from "../kv/keys.ts"
import { InvalidRequestError } from "./errors.ts"

/** Keys starting with NUL are the server's own (membership records, S3 users); clients may not touch them. */
export const RESERVED_PREFIX = "\u0000"

export type Consistency = "linearizable" | "serializable"

/** `?consistency=`: linearizable (the default) or serializable. */
export const consistencyOf = (url: URL): Consistency | InvalidRequestError => {
  const c = url.searchParams.get("consistency") ?? "linearizable"
  if (c !== "linearizable" && c !== "serializable") return new InvalidRequestError({ code: "bad-consistency", message: `consistency must be linearizable or serializable, got "${c}"` })
  return c
}

/** The key of `/v1/kv/{key}`: percent-encoded UTF-8, not empty, not reserved, at most MAX_KEY_BYTES. */
export const keyOf = (encoded: string): string | InvalidRequestError => {
  let key: string
  try {
    key = decodeURIComponent(encoded)
  } catch {
    return new InvalidRequestError({ code: "bad-key", message: "the key is not valid percent-encoded UTF-8" })
  }
  if (key.length === 0) return new InvalidRequestError({ code: "bad-key", message: "the key is empty: use /v1/kv/{key}" })
  if (key.startsWith(RESERVED_PREFIX)) return new InvalidRequestError({ code: "bad-key", message: "keys may not start with a NUL character (reserved)" })
  // A UTF-16 unit is at most 3 UTF-8 bytes: short keys need no count.
  if (key.length * 3 > MAX_KEY_BYTES && utf8Length(key) > MAX_KEY_BYTES) return new InvalidRequestError({ code: "key-too-large", message: `the key is longer than ${MAX_KEY_BYTES} bytes` })
  return key
}

/** A write's condition: compare-and-set on a revision, create-only (`absent`), or none. */
export type Precondition = number | "absent" | undefined

const badPrecondition = (message: string) => new InvalidRequestError({ code: "bad-precondition", message })

/** If-Match: "<rev>" → cas on that revision; If-None-Match: * → create-only. */
export const preconditionOf = (headers: ReadonlyMap<string, string>): Precondition | InvalidRequestError => {
  const ifMatch = headers.get("if-match")
  const ifNoneMatch = headers.get("if-none-match")
  if (ifMatch !== undefined && ifNoneMatch !== undefined) return badPrecondition("give If-Match or If-None-Match, not both")
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== "*") return badPrecondition(`If-None-Match on a write must be *, got ${ifNoneMatch}`)
    return "absent"
  }
  if (ifMatch !== undefined) {
    const m = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(ifMatch)
    if (m === null) return badPrecondition(`If-Match must be one quoted revision like "42", got ${ifMatch}`)
    return Number(m[1])
  }
  return undefined
}

/** The smallest string greater than every string starting with `prefix` in code point order, or undefined (no bound). */
export const prefixEnd = (prefix: string): string | undefined => {
  const cps = [...prefix].map((c) => c.codePointAt(0)!)
  while (cps.length > 0) {
    const last = cps.pop()!
    if (last < 0x10ffff) {
      cps.push(last === 0xd7ff ? 0xe000 : last + 1)
      return String.fromCodePoint(...cps)
    }
  }
  return undefined
}

export interface ListQuery {
  /** The range's first key: never below the reserved keys. */
  readonly from: string
  readonly end: string | undefined
  readonly limit: number
  readonly encoding: "base64" | "utf8"
}

/** `GET /v1/kv?prefix=&start=&limit=&encoding=` as a range over the client's keys. */
export const listQueryOf = (url: URL): ListQuery | InvalidRequestError => {
  const prefix = url.searchParams.get("prefix") ?? ""
  const start = url.searchParams.get("start") ?? ""
  const limitText = url.searchParams.get("limit") ?? "100"
  const encoding = url.searchParams.get("encoding") ?? "base64"
  if (encoding !== "base64" && encoding !== "utf8") return new InvalidRequestError({ code: "bad-encoding", message: `encoding must be base64 or utf8, got "${encoding}"` })
  if (!/^\d{1,6}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_RANGE_LIMIT)
    return new InvalidRequestError({ code: "bad-limit", message: `limit must be a whole number from 1 to ${MAX_RANGE_LIMIT}, got "${limitText}"` })
  for (const [name, v] of [["prefix", prefix], ["start", start]] as const) {
    if (utf8Length(v) > MAX_KEY_BYTES) return new InvalidRequestError({ code: "key-too-large", message: `${name} is longer than ${MAX_KEY_BYTES} bytes` })
  }
  // Never list the reserved keys: start at or after the first key that is not reserved.
  const from = [prefix, start, "\u0001"].reduce((a, b) => (a > b ? a : b))
  return { from, end: prefix === "" ? undefined : prefixEnd(prefix), limit: Number(limitText), encoding }
}
