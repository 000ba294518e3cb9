/**
 * `cairn log`'s calls to a node's HTTP log API (`/v1/log`, docs/log.md):
 * one request each, with the credentials `cairn cluster` uses, and every
 * refusal turned into a `LogCommandError` whose message says what to do
 * about it (no stack traces). Any node serves every partition, so nothing
 * here follows leaders; a 503 or 504 is reported as it is (the node's log
 * client already retried within its deadline).
 */
import { Data, Effect, Option } from "effect"
import { trustCaFile } from "../server/api-credentials.ts"
import { authHeader, causeMessage, ClusterCommandError, type Common } from "./cluster-command.ts"

/** A `cairn log` failure: `exitCode` 2 for input the user must fix, 1 for everything else. */
export class LogCommandError extends Data.TaggedError("LogCommandError")<{ readonly message: string; readonly exitCode: 1 | 2 }> {}

export const usage = (message: string) => new LogCommandError({ message, exitCode: 2 })

interface Refusal {
  readonly status: number
  readonly code: string | undefined
  readonly message: string
  readonly body: Record<string, unknown>
}

/** What to do about a refusal, by its code (or status). */
const fixFor = (r: Refusal, path: string): string => {
  const topic = /\/topics\/([^/]+)/.exec(path)?.[1]
  const name = topic === undefined ? "NAME" : decodeURIComponent(topic)
  switch (r.code) {
    case "unknown-topic": return `create it: cairn log topic create --topic ${name} --partitions N (list them: cairn log topic list)`
    case "unknown-partition": return `partitions are numbered from 0; see cairn log topic describe --topic ${name}`
    case "topic-exists": return "choose another name, or delete the topic first: cairn log topic delete --topic NAME"
    case "offset-out-of-range": return `the partition holds offsets ${String(r.body.logStartOffset)} up to ${String(r.body.highWatermark)} (exclusive): pass --offset in that range, or --from-beginning`
    case "log-disabled": return "the node was started with --no-log: restart it without that flag, or point --endpoint at a node that runs the log"
    case "forbidden": return "creating, growing and deleting topics need the admin's access key"
    case "too-large": return "send fewer or smaller records per request (a batch is at most the topic's maxMessageBytes, 1 MiB by default)"
    case "outcome-unknown": return "the records may or may not have been appended: consume the partition to find out before producing them again"
  }
  if (r.status === 401) return "check --access-key/--secret-key (or CAIRN_ACCESS_KEY/CAIRN_SECRET_KEY, or --credentials FILE)"
  if (r.status === 503) return "the partition has no leader right now (is a majority of its replicas up?); retry shortly"
  return "see docs/log.md"
}

const refusalOf = (status: number, bytes: Uint8Array): Refusal => {
  const text = new TextDecoder().decode(bytes)
  try {
    const body = JSON.parse(text) as Record<string, unknown>
    return { status, code: typeof body.error === "string" ? body.error : undefined, message: String(body.message ?? text), body }
  } catch {
    return { status, code: undefined, message: text.trim(), body: {} }
  }
}

export interface LogRequest {
  readonly method: "GET" | "POST" | "PUT" | "DELETE"
  readonly path: string
  readonly body?: unknown
}

/** Sends one request; its JSON answer, or a `LogCommandError` saying what went wrong and the fix. */
export const logCall = (flags: Common, request: LogRequest): Effect.Effect<Record<string, unknown>, LogCommandError> =>
  Effect.tryPromise({
    try: async () => {
      const auth = authHeader(flags)
      if (auth instanceof ClusterCommandError) throw usage(auth.message)
      const ca = Option.getOrUndefined(flags.ca)
      if (ca !== undefined) trustCaFile(ca)
      let endpoint = flags.endpoint.replace(/\/$/, "")
      if (!/^https?:\/\//.test(endpoint)) endpoint = `http://${endpoint}`
      const res = await fetch(`${endpoint}${request.path}`, {
        method: request.method,
        headers: { authorization: auth, "content-type": "application/json" },
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) })
      })
      const bytes = new Uint8Array(await res.arrayBuffer())
      if (!res.ok) {
        const r = refusalOf(res.status, bytes)
        throw new LogCommandError({ message: `${res.status} ${r.code ?? ""}: ${r.message}\n  fix: ${fixFor(r, request.path)}`, exitCode: 1 })
      }
      return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
    },
    catch: (e) => (e instanceof LogCommandError ? e : new LogCommandError({ message: `cannot reach ${flags.endpoint}: ${causeMessage(e)} (is the server running? set --endpoint to its API address)`, exitCode: 1 }))
  })
