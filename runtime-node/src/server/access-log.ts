/**
 * The S3 access log (opt-in, `--access-log`): one JSON line per S3 request —
 * time, request id, user and access key, operation, bucket, key, status,
 * error code, body bytes each way, milliseconds, client address — written
 * to stderr among the other log lines (whatever `--log-level` says), or
 * appended to a file.
 *
 * The file is opened once, in append mode: rotate it with logrotate's
 * `copytruncate` (appends land at the new end). Lines are queued in memory
 * while the disk is slow; a write error is logged once and the server keeps
 * serving (the access log is not worth an outage).
 */
import { createWriteStream, openSync, type WriteStream } from "node:fs"
import type { S3Exchange } from "../s3/exchange.ts"
import { log, writeLogLine } from "../log/log.ts"

export type AccessLogTarget = { readonly kind: "stderr" } | { readonly kind: "file"; readonly path: string }

export interface AccessLog {
  readonly write: (exchange: S3Exchange) => void
  /** Flushes and closes the file (nothing for stderr). */
  readonly close: () => Promise<void>
}

/** The configuration value: "" or "off" → none, "stderr" or "-" → stderr, anything else → a file path. */
export const parseAccessLogTarget = (value: string | undefined): AccessLogTarget | undefined => {
  const v = value?.trim() ?? ""
  if (v === "" || v === "off" || v === "false") return undefined
  if (v === "stderr" || v === "-") return { kind: "stderr" }
  return { kind: "file", path: v }
}

export const accessLogLine = (x: S3Exchange, time: Date): string =>
  JSON.stringify({
    time: time.toISOString(),
    level: "info",
    msg: "s3 access",
    requestId: x.requestId ?? null,
    user: x.user ?? null,
    accessKey: x.accessKey ?? null,
    operation: x.operation,
    method: x.method,
    bucket: x.bucket ?? null,
    key: x.key ?? null,
    status: x.status,
    errorCode: x.errorCode ?? null,
    bytesIn: x.bytesIn,
    bytesOut: x.bytesOut,
    ms: Math.round(x.seconds * 1e4) / 10,
    remote: x.remote ?? null,
    ...(x.complete ? {} : { complete: false })
  })

/** Opens the access log; a file that cannot be opened for appending throws (the server refuses to start). */
export const openAccessLog = (target: AccessLogTarget): AccessLog => {
  if (target.kind === "stderr") return { write: (x) => writeLogLine(accessLogLine(x, new Date())), close: () => Promise.resolve() }
  const fd = openSync(target.path, "a", 0o640)
  const stream: WriteStream = createWriteStream("", { fd, flags: "a" })
  let failed = false
  stream.on("error", (e) => {
    if (!failed) log("error", "the access log cannot be written; access lines are dropped", { path: target.path, error: e.message })
    failed = true
  })
  return {
    write: (x) => {
      if (!failed) stream.write(`${accessLogLine(x, new Date())}\n`)
    },
    close: () => new Promise((resolve) => stream.end(() => resolve()))
  }
}
