/**
 * Rebalancing progress for `cairn cluster list`: the leader's cursor, read
 * from the KV by whichever node answers, judged against the member list
 * this node places shards over now.
 */
import type { PlacementNode } from "@cairn/core/object/placement"
import type { Rebalancer } from "@cairn/core/object/rebalance"
import { membershipOf } from "@cairn/core/object/rebalance-cursor"
import { Effect } from "effect"
import type { RebalanceView } from "./members.ts"

/** The view, or null when no pass ever ran or the KV did not answer. */
export const rebalanceView = (rebalancer: Rebalancer, members: () => ReadonlyArray<PlacementNode>): Effect.Effect<RebalanceView | null> =>
  Effect.map(Effect.result(rebalancer.cursor), (r) => {
    if (r._tag === "Failure" || r.success === undefined) return null
    const c = r.success
    // A cursor for another member list: the leader starts a new pass at its next check.
    const state = c.membership !== membershipOf(members()) ? "waiting" : c.done ? "done" : c.settling ? "settling" : "moving"
    return { state, pass: c.pass, records: c.records, shardsMoved: c.shardsMoved, bytesMoved: c.bytesMoved, shardsPending: c.shardsDeferred }
  })
