/**
 * Failure domains (`--zone`): where each member runs, so that shard
 * placement spreads a stripe over zones before nodes
 * (core/src/object/placement.ts).
 *
 * A node's zone is its own setting, but every node must know every other
 * node's: each node publishes its zone under the reserved key
 * `\0cairn/zones/{id}` and reads every node's back (node-records.ts). A
 * member with no record is its own domain (its id), so a cluster without
 * zones places shards over nodes exactly as before.
 */
import type { KvServer } from "@cairn/core"
import type { Effect } from "effect"
import { makeNodeRecords } from "./node-records.ts"

export const ZONE_PREFIX = "\u0000cairn/zones/"

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

export const makeZones = (config: ZonesConfig, kv: Pick<KvServer, "query" | "submit">): Zones => {
  const records = makeNodeRecords(
    { self: config.self, prefix: ZONE_PREFIX, what: "zone", value: config.zone, valid: (z) => ZONE_NAME.test(z), requestTimeoutMs: config.requestTimeoutMs },
    kv
  )
  return {
    // Prefixed, so that a zone named like a node id is not that node's own domain.
    domainOf: (id) => {
      const zone = records.all().get(id)
      return zone === undefined ? `node:${id}` : `zone:${zone}`
    },
    all: records.all,
    sync: records.sync
  }
}
