/**
 * One finished S3 exchange as the listener saw it — operation, status,
 * bytes each way, time — and how it is logged. Metrics and the access log
 * are built from these records (runtime-node/src/server/), so the listener
 * stays free of both.
 *
 * Log levels: a server fault (5xx other than 501 and 503) is an `error`, a
 * 503 (not enough healthy nodes, no leader) a `warn`, an unimplemented
 * operation (501) or a client error (4xx) `info` — except the routine
 * answers 404 (no such key/bucket, what a HEAD probe expects) and 412
 * (a failed precondition), which, like every request, log at `debug`.
 */
import { log, logEnabled } from "../log/log.ts"

/** Statuses that are ordinary answers, not mistakes: 404 (what a HEAD probe expects), 412 (a failed precondition), 499 (the client left). */
const routine = new Set([404, 412, 499])

export interface S3Exchange {
  /** The S3 operation name (core/src/s3/operation.ts), "Unknown" when the request names none. */
  readonly operation: string
  readonly method: string
  readonly bucket: string | undefined
  readonly key: string | undefined
  /** The status sent; 499 when the client went away before the response headers. */
  readonly status: number
  /** The S3 error code answered (NoSuchKey, AccessDenied, ...), if any. */
  readonly errorCode: string | undefined
  /** Undefined when the request never reached the handler's answer (the client left first). */
  readonly requestId: string | undefined
  /** Who the request was authenticated as, if it was. */
  readonly user: string | undefined
  readonly accessKey: string | undefined
  /** Request body bytes the server read, as sent (aws-chunked framing included); an unread body counts 0. */
  readonly bytesIn: number
  /** Response body bytes written. */
  readonly bytesOut: number
  /** From the request's arrival to the end of its response (or the client's leaving). */
  readonly seconds: number
  /** False when the response was cut short (the client left, or the body failed after the headers). */
  readonly complete: boolean
  readonly remote: string | undefined
}

/** The one log line an exchange earns at the configured level (see the header for levels). */
export const logExchange = (x: S3Exchange): void => {
  const level = x.status === 503 ? "warn" : x.status === 501 ? "info" : x.status >= 400 && x.status < 500 && !routine.has(x.status) ? "info" : "debug"
  if (!logEnabled(level)) return
  const fields = {
    operation: x.operation,
    method: x.method,
    bucket: x.bucket ?? null,
    key: x.key ?? null,
    status: x.status,
    ...(x.errorCode === undefined ? {} : { errorCode: x.errorCode }),
    requestId: x.requestId ?? null,
    ms: Math.round(x.seconds * 1e4) / 10,
    ...(x.complete ? {} : { complete: false })
  }
  // 5xx faults were logged at error, with their cause, when the handler answered.
  const msg = x.status === 503 ? "s3 request refused: storage or leader unavailable" : x.status === 501 ? "s3 operation not implemented" : level === "info" ? "s3 client error" : "s3 request"
  log(level, msg, fields)
}
