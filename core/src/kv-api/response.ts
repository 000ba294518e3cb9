/**
 * What the KV API handler answers, independent of node:http: a status,
 * headers and a whole body (values are at most 1 MiB, so nothing streams),
 * plus what the runtime's metrics and log need to know about the exchange.
 * JSON bodies are one line, newline-terminated, with their exact byte length.
 */

/** The error kinds the runtime counts (`cairn_errors_total{kind}`). */
export type KvApiErrorKind = "bad_request" | "not_leader" | "timeout" | "unauthorized" | "internal"

/** Status, headers and body: what goes on the wire. */
export interface KvApiResponseHead {
  readonly status: number
  /** Header names in lower case, in the order they are sent. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** Undefined: no body (a HEAD's answer). */
  readonly body?: Uint8Array
}

export interface KvApiResponse extends KvApiResponseHead {
  /** Error kinds noted while answering, once each time they happened. */
  readonly errorKinds: ReadonlyArray<KvApiErrorKind>
  /** Value bytes accepted from the client (a PUT's body). */
  readonly bytesIn: number
  /** A bug's cause, for the runtime's log; the client saw only a 500 `internal`. */
  readonly defect?: string
}

const encoder = new TextEncoder()

/** `body` as one JSON line, with content-type and content-length first, then `headers`. */
export const jsonResponse = (status: number, body: unknown, headers: ReadonlyArray<readonly [string, string]> = []): KvApiResponseHead => {
  const bytes = encoder.encode(`${JSON.stringify(body)}\n`)
  return { status, headers: [["content-type", "application/json"], ["content-length", String(bytes.length)], ...headers], body: bytes }
}

/** A value as it is read back: raw bytes with its revision as ETag; HEAD gets the headers only. */
export const valueResponse = (value: Uint8Array, etag: string, withBody: boolean): KvApiResponseHead => ({
  status: 200,
  headers: [["content-type", "application/octet-stream"], ["content-length", String(value.length)], ["etag", etag]],
  ...(withBody ? { body: value } : {})
})
