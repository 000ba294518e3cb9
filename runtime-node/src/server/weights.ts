/**
 * Capacity weights (`--capacity-weight`): how large a share of the shards
 * each member should hold, for weighted rendezvous placement
 * (core/src/object/placement.ts). Published like zones: each node under
 * `\0cairn/weights/{id}` (node-records.ts); a node of weight 1 (the
 * default) publishes no record, and a member without one weighs 1, so a
 * cluster without weights places shards exactly as before. A changed weight
 * changes the member list placement sees, which starts a rebalance pass.
 */
import type { KvServer } from "@cairn/core"
import type { Effect } from "effect"
import { makeNodeRecords } from "./node-records.ts"

export const WEIGHT_PREFIX = "\u0000cairn/weights/"

const WEIGHT = /^\d{1,5}(\.\d{1,3})?$/

export interface Weights {
  /** The weight placement uses for a member (1 without a record). */
  readonly weightOf: (id: string) => number
  /** Publishes this node's weight and refreshes everyone's; runs forever. */
  readonly sync: Effect.Effect<never>
}

export const makeWeights = (config: { readonly self: string; readonly weight: number; readonly requestTimeoutMs: number }, kv: Pick<KvServer, "query" | "submit">): Weights => {
  const records = makeNodeRecords({
    self: config.self,
    prefix: WEIGHT_PREFIX,
    what: "capacity weight",
    value: config.weight === 1 ? undefined : String(config.weight),
    valid: (w) => WEIGHT.test(w) && Number(w) > 0,
    requestTimeoutMs: config.requestTimeoutMs
  }, kv)
  return {
    weightOf: (id) => {
      const w = records.all().get(id)
      return w === undefined ? 1 : Number(w)
    },
    sync: records.sync
  }
}
