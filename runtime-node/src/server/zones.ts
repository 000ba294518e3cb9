/**
 * Failure domains (`--zone`): where each member runs, so that shard
 * placement spreads a stripe over zones before nodes
 * (core/src/object/placement.ts).
 *
 * A node's zone is its own setting, but every node must know every other
 * node's: each node publishes its zone under the reserved key
 * `\0cairn/zones/{id}` (a replicated write, retried until it lands and
 * again whenever the stored value differs, so a changed flag takes effect
 * after a restart) and reads every node's back from its own state machine
 * twice a second. A member with no record is its own domain (its id), so a
 * cluster without zones places shards over nodes exactly as before.
 */
import type { KvServer, RangeItem } from "@cairn/core"
import { Effect, Result } from "effect"
import { randomBytes } from "node:crypto"
import { log } from "../log/log.ts"

export const ZONE_PREFIX = "\u0000cairn/zones/"
const ZONE_END = "\u0000cairn/zones0" // "0" follows "/": the end of the prefix range

/** Zone names: what `--zone` accepts. */
export const ZONE_NAME = /^[A-Za-z0-9_.-]{1,64}$/

export interface Zones {
  /** The failure domain placement uses for a member: `zone:<zone>`, or `node:<id>` when it has none. */
  readonly domainOf: (id: string) => string
  /** Every published zone, by node id. */
  readonly all: () => ReadonlyMap<string, string>
  /** Publishes this node's zone and refreshes everyone's; runs forever. */
  readonly sync: Effect.Effect<never>
}

export interface ZonesConfig {
  readonly self: string
  /** This node's zone; undefined: none (its record, if any, is removed). */
  readonly zone: string | undefined
  readonly requestTimeoutMs: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const makeZones = (config: ZonesConfig, kv: Pick<KvServer, "query" | "submit">): Zones => {
  const zones = new Map<string, string>()
  const boot = randomBytes(6).toString("hex")
  let counter = 0

  const refresh = Effect.gen(function*() {
    const result = yield* Effect.result(kv.query({ op: "range", start: ZONE_PREFIX, end: ZONE_END, limit: 10_000 }, "serializable", config.requestTimeoutMs))
    if (Result.isFailure(result) || result.success.type !== "range") return false
    zones.clear()
    for (const item of result.success.items as ReadonlyArray<RangeItem>) {
      const zone = decoder.decode(item.value)
      if (ZONE_NAME.test(zone)) zones.set(item.key.slice(ZONE_PREFIX.length), zone)
      else log("warn", "ignoring an unreadable zone record", { node: item.key.slice(ZONE_PREFIX.length) })
    }
    return true
  })

  /** Writes (or removes) this node's record when it differs from the setting; a failure waits for the next round. */
  const publish = Effect.gen(function*() {
    if (zones.get(config.self) === config.zone) return
    const key = `${ZONE_PREFIX}${config.self}`
    const command = config.zone === undefined ? { op: "delete" as const, key } : { op: "put" as const, key, value: encoder.encode(config.zone) }
    // A client id per write (as members.ts does): each is a one-command session.
    const outcome = yield* Effect.result(kv.submit({ clientId: `zones-${config.self}-${boot}-${++counter}`, seq: 1, command }, config.requestTimeoutMs))
    if (Result.isSuccess(outcome)) log("info", config.zone === undefined ? "zone record removed" : "zone published", { zone: config.zone ?? null })
  })

  const round = Effect.gen(function*() {
    if (yield* refresh) yield* publish
  })

  return {
    // Prefixed, so that a zone named like a node id is not that node's own domain.
    domainOf: (id) => {
      const zone = zones.get(id)
      return zone === undefined ? `node:${id}` : `zone:${zone}`
    },
    all: () => zones,
    sync: Effect.forever(Effect.andThen(round, Effect.sleep(500))) as Effect.Effect<never>
  }
}
