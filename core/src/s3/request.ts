/**
 * The protocol-level request and response: what the S3 handler sees of an
 * HTTP exchange, independent of node:http (the listener converts). Bodies
 * are streams both ways, so no object is ever held in memory whole.
 *
 * Addressing: virtual-host style (`bucket.s3.example.com/key`) when the Host
 * header ends with one of the configured base domains, path style
 * (`s3.example.com/bucket/key`) otherwise.
 */
import type { Stream } from "effect"
import { type S3Error, s3Error } from "./errors.ts"

export interface S3Request {
  readonly method: string
  /** The path exactly as sent (percent-encoded), without the query string. */
  readonly rawPath: string
  /** The query string as sent, without the "?". */
  readonly rawQuery: string
  /** Header names in lower case; repeated headers joined with ",". */
  readonly headers: ReadonlyMap<string, string>
  readonly body: Stream.Stream<Uint8Array, S3Error>
}

export type ResponseBody = Uint8Array | Stream.Stream<Uint8Array, S3Error>

export interface S3Response {
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** Undefined: no body (HEAD, 204, 304). */
  readonly body?: ResponseBody
}

export type Query = ReadonlyArray<readonly [string, string]>

const decode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

/** The query's (name, value) pairs, decoded; a name without "=" has the value "". */
export const parseQuery = (rawQuery: string): Query | S3Error => {
  const out: Array<readonly [string, string]> = []
  if (rawQuery === "") return out
  for (const part of rawQuery.split("&")) {
    if (part === "") continue
    const eq = part.indexOf("=")
    const name = decode(eq < 0 ? part : part.slice(0, eq))
    const value = decode(eq < 0 ? "" : part.slice(eq + 1))
    if (name === undefined || value === undefined) return s3Error("InvalidArgument", "The query string is not valid percent-encoded UTF-8")
    out.push([name, value])
  }
  return out
}

export const queryValue = (query: Query, name: string): string | undefined => query.find(([n]) => n === name)?.[1]
export const hasQuery = (query: Query, name: string): boolean => query.some(([n]) => n === name)

export interface Target {
  /** Undefined: the service itself (ListBuckets). */
  readonly bucket: string | undefined
  /** Undefined: the bucket itself. */
  readonly key: string | undefined
}

/** The host without its port, lower case. */
export const hostName = (host: string): string => {
  const h = host.trim().toLowerCase()
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1)
  const colon = h.lastIndexOf(":")
  return colon < 0 ? h : h.slice(0, colon)
}

/** Which bucket and key a request addresses. */
export const resolveTarget = (rawPath: string, host: string | undefined, baseDomains: ReadonlyArray<string>): Target | S3Error => {
  const path = decode(rawPath)
  if (path === undefined || !path.startsWith("/")) return s3Error("InvalidRequest", "The request path is not valid percent-encoded UTF-8")
  const name = host === undefined ? "" : hostName(host)
  for (const domain of baseDomains) {
    const suffix = `.${domain.toLowerCase()}`
    if (name.endsWith(suffix) && name.length > suffix.length) {
      const key = path.slice(1)
      return { bucket: name.slice(0, -suffix.length), key: key === "" ? undefined : key }
    }
  }
  const rest = path.slice(1)
  if (rest === "") return { bucket: undefined, key: undefined }
  const slash = rest.indexOf("/")
  if (slash < 0) return { bucket: rest, key: undefined }
  const key = rest.slice(slash + 1)
  return { bucket: rest.slice(0, slash), key: key === "" ? undefined : key }
}
