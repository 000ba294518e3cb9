/**
 * The register workload over S3 objects: each key is an object in one
 * bucket (created before the workload), each request signed with SigV4
 * (../s3/sign-request.ts) and sent to a random node's S3 port.
 *
 * - read: GET object; 200 → the body (an integer), 404 NoSuchKey → nil.
 * - write: PUT with a unique integer as the body.
 * - cas [from to]: PUT with `If-Match: <ETag of this worker's last read of
 *   the key>`, or `If-None-Match: *` when that read found nothing. Bodies
 *   are unique, and the ETag of a single-part object is the MD5 of its body,
 *   so comparing ETags is comparing values.
 *
 * Outcomes, conservatively (a write is failed only when it certainly did
 * not happen):
 *
 * - ok: 200 (a read's 404 NoSuchKey is ok with nil).
 * - fail: a refused connection (nothing reached the server), 412 on a cas
 *   (the condition lost), and any read that is not 200 or 404 NoSuchKey
 *   (reads change nothing).
 * - info: everything else on a write — 503 (the store says an outcome may
 *   be unknown: the change may still commit), 500, 504, other statuses, a
 *   client timeout, a reset connection.
 */
import type { Value } from "@cairn/jepsen"
import { signRequest, type SigningCredentials } from "../s3/sign-request.ts"
import { type HttpResult, type Outcome, type ReadResult, type RegisterDriver, request } from "./client.ts"
import type { TestHost } from "./hosts.ts"

export const s3BaseUrl = (h: TestHost): string => `http://${h.ip}:${h.s3Port}`

/** A write's (PUT, conditional PUT) answer as a history outcome. */
export const s3WriteOutcome = (r: HttpResult, isCas: boolean): Outcome => {
  if (r.status === 200) return "ok"
  if (r.status === "refused") return "fail"
  if (isCas && r.status === 412) return "fail"
  return "info"
}

/** A GET's answer: 200 → the body's integer (with its ETag), 404 NoSuchKey → nil, anything else → fail. */
export const s3ReadOutcome = (r: HttpResult): ReadResult => {
  if (r.status === 200 && r.etag !== undefined) {
    // Every body this workload writes is an integer; anything else is recorded as is, for the checker to reject.
    const value: Value = /^\d+$/.test(r.body) ? Number(r.body) : r.body
    return { type: "ok", value, token: r.etag }
  }
  if (r.status === 404 && r.body.includes("<Code>NoSuchKey</Code>")) return { type: "ok", value: null, token: undefined }
  return { type: "fail", value: null, token: undefined }
}

export interface S3Target {
  readonly credentials: SigningCredentials
  readonly bucket: string
  readonly timeoutMs: number
}

const signed = (t: S3Target, node: TestHost, method: string, path: string, body: string | undefined, extra: Record<string, string>): Promise<HttpResult> => {
  const url = new URL(`${s3BaseUrl(node)}${path}`)
  const headers = signRequest(t.credentials, { method, url, headers: extra, ...(body === undefined ? {} : { body }) })
  return request(url.toString(), { method, headers, timeoutMs: t.timeoutMs, ...(body === undefined ? {} : { body }) })
}

export const s3Driver = (t: S3Target): RegisterDriver => ({
  read: async (node, key) => s3ReadOutcome(await signed(t, node, "GET", `/${t.bucket}/${key}`, undefined, {})),
  write: async (node, key, value) => s3WriteOutcome(await signed(t, node, "PUT", `/${t.bucket}/${key}`, String(value), {}), false),
  cas: async (node, key, token, value) =>
    s3WriteOutcome(await signed(t, node, "PUT", `/${t.bucket}/${key}`, String(value), token === undefined ? { "if-none-match": "*" } : { "if-match": token }), true)
})

/**
 * Creates the workload's bucket through the nodes in turn (bounded); true
 * once a node says it exists (200, or 409 BucketAlreadyOwnedByYou after an
 * earlier attempt that timed out but took effect).
 */
export const createBucket = async (t: S3Target, nodes: ReadonlyArray<TestHost>, attempts: number, signal: AbortSignal): Promise<{ readonly ok: boolean; readonly last: string }> => {
  let last = "no attempt"
  for (let a = 0; a < attempts && !signal.aborted; a++) {
    const r = await signed(t, nodes[a % nodes.length]!, "PUT", `/${t.bucket}`, undefined, {})
    if (r.status === 200 || (r.status === 409 && r.body.includes("BucketAlreadyOwnedByYou"))) return { ok: true, last: String(r.status) }
    last = `${r.status} ${r.body.slice(0, 200)}`
    await new Promise((res) => setTimeout(res, 250))
  }
  return { ok: false, last }
}
