/**
 * Per-node settings every node must know (a zone, a capacity weight): each
 * node publishes its own under `<prefix><id>` in the Raft KV (a replicated
 * write, retried until it lands and again whenever the stored value
 * differs, so a changed flag takes effect after a restart; no value removes
 * the record) and reads every node's back from its own state machine twice
 * a second.
 */
import type { KvServer, RangeItem } from "@cairn/core"
import { Effect, Result } from "effect"
import { randomBytes } from "node:crypto"
import { log } from "../log/log.ts"

export interface NodeRecords {
  /** Every published value, by node id. */
  readonly all: () => ReadonlyMap<string, string>
  /** Publishes this node's value and refreshes everyone's; runs forever. */
  readonly sync: Effect.Effect<never>
}

export interface NodeRecordsConfig {
  readonly self: string
  /** The key prefix, ending in "/" (the range scan ends at the same prefix ending in "0"). */
  readonly prefix: string
  /** What the records are, for log lines ("zone", "capacity weight"). */
  readonly what: string
  /** This node's value; undefined: none (its record, if any, is removed). */
  readonly value: string | undefined
  /** Whether a stored value is readable; others are ignored with a warning. */
  readonly valid: (value: string) => boolean
  readonly requestTimeoutMs: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const makeNodeRecords = (config: NodeRecordsConfig, kv: Pick<KvServer, "query" | "submit">): NodeRecords => {
  const values = new Map<string, string>()
  const end = `${config.prefix.slice(0, -1)}0` // "0" follows "/": the end of the prefix range
  const boot = randomBytes(6).toString("hex")
  let counter = 0

  const refresh = Effect.gen(function*() {
    const result = yield* Effect.result(kv.query({ op: "range", start: config.prefix, end, limit: 10_000 }, "serializable", config.requestTimeoutMs))
    if (Result.isFailure(result) || result.success.type !== "range") return false
    values.clear()
    for (const item of result.success.items as ReadonlyArray<RangeItem>) {
      const value = decoder.decode(item.value)
      if (config.valid(value)) values.set(item.key.slice(config.prefix.length), value)
      else log("warn", `ignoring an unreadable ${config.what} record`, { node: item.key.slice(config.prefix.length) })
    }
    return true
  })

  /** Writes (or removes) this node's record when it differs from the setting; a failure waits for the next round. */
  const publish = Effect.gen(function*() {
    if (values.get(config.self) === config.value) return
    const key = `${config.prefix}${config.self}`
    const command = config.value === undefined ? { op: "delete" as const, key } : { op: "put" as const, key, value: encoder.encode(config.value) }
    // A client id per write (as members.ts does): each is a one-command session.
    const outcome = yield* Effect.result(kv.submit({ clientId: `${config.prefix.slice(1, -1).replace("/", "-")}-${config.self}-${boot}-${++counter}`, seq: 1, command }, config.requestTimeoutMs))
    if (Result.isSuccess(outcome)) log("info", config.value === undefined ? `${config.what} record removed` : `${config.what} published`, { [config.what.replace(" ", "_")]: config.value ?? null })
  })

  const round = Effect.gen(function*() {
    if (yield* refresh) yield* publish
  })

  return { all: () => values, sync: Effect.forever(Effect.andThen(round, Effect.sleep(500))) as Effect.Effect<never> }
}
