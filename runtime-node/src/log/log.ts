/**
 * Structured logs: one JSON object per line on stderr with `time`, `level`,
 * `msg` and the event's fields. Effect's own log calls (e.g. the Disk layer's
 * backend report) go through the same writer via `jsonLoggerLayer`.
 */
import { Cause, Logger } from "effect"

export type LogLevel = "debug" | "info" | "warn" | "error"
const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

let minLevel: LogLevel = "info"
let sink: (line: string) => void = (line) => void process.stderr.write(line)

export const setLogLevel = (level: LogLevel): void => {
  minLevel = level
}

/** Tests capture lines instead of writing to stderr. */
export const setLogSink = (write: (line: string) => void): void => {
  sink = write
}

/** Whether a line at `level` would be written (to skip building fields nobody reads on hot paths). */
export const logEnabled = (level: LogLevel): boolean => rank[level] >= rank[minLevel]

export const log = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void => {
  if (rank[level] < rank[minLevel]) return
  let line: string
  try {
    line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })
  } catch {
    line = JSON.stringify({ time: new Date().toISOString(), level, msg, fields: "unserialisable" })
  }
  sink(`${line}\n`)
}

/** Writes a line that is not subject to the level (the access log on stderr); ends it with a newline. */
export const writeLogLine = (line: string): void => {
  sink(`${line}\n`)
}

const effectLevel = (label: string): LogLevel => {
  switch (label) {
    case "Fatal":
    case "Error":
      return "error"
    case "Warn":
      return "warn"
    case "Debug":
    case "Trace":
      return "debug"
    default:
      return "info"
  }
}

/** Effect's minimum level for ours, so that Effect's own debug logs (the OTLP exporter's) pass at `debug`. */
export const effectLogLevel = (level: LogLevel): "Debug" | "Info" | "Warn" | "Error" =>
  level === "debug" ? "Debug" : level === "info" ? "Info" : level === "warn" ? "Warn" : "Error"

/** Replaces Effect's default logger with the JSON line writer. */
export const jsonLoggerLayer = Logger.layer([
  Logger.make((options) => {
    const parts = Array.isArray(options.message) ? options.message : [options.message]
    const msg = parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" ")
    const fields: Record<string, unknown> = { source: "effect" }
    if (options.cause.reasons.length > 0) fields.cause = Cause.pretty(options.cause)
    log(effectLevel(options.logLevel), msg, fields)
  })
])
