/**
 * A node's view of the topics: read from its own applied KV state (no
 * round trip; it trails the leader's by at most the replication lag), with
 * the partitions placed on this node. The reconciler in `log-node.ts`
 * starts and stops replicas to match it.
 */
import { InvariantViolation } from "../../invariant/invariant.ts"
import { MAX_RANGE_LIMIT } from "../../kv/command.ts"
import type { KvStateMachine } from "../../kv/state-machine.ts"
import type { NodeId } from "../../node/node-id.ts"
import { TOPIC_RANGE } from "../topics/topic-admin.ts"
import { decodeTopicMeta, groupId, type TopicMeta } from "../topics/topic-meta.ts"

export interface TopicView {
  readonly topics: ReadonlyMap<string, TopicMeta>
  /** Partitions with a replica on this node, by group id. */
  readonly placed: ReadonlyMap<string, { readonly meta: TopicMeta; readonly partition: number }>
}

/** Reads every topic record; one that does not decode is a bug (Raft checksums the KV's entries) and throws. */
export const readTopicView = (kv: KvStateMachine, self: NodeId): TopicView => {
  const topics = new Map<string, TopicMeta>()
  const placed = new Map<string, { readonly meta: TopicMeta; readonly partition: number }>()
  let from: string = TOPIC_RANGE.start
  for (;;) {
    const r = kv.range(from, TOPIC_RANGE.end, MAX_RANGE_LIMIT)
    if (r.type !== "range") throw new InvariantViolation(`topic range: ${r.type}`)
    for (const item of r.items) {
      const meta = decodeTopicMeta(item.value)
      if (typeof meta === "string") throw new InvariantViolation(`${JSON.stringify(item.key)}: ${meta}`)
      topics.set(meta.name, meta)
      meta.replicas.forEach((set, partition) => {
        if (set.includes(self)) placed.set(groupId(meta, partition), { meta, partition })
      })
    }
    const last = r.items[r.items.length - 1]
    if (!r.more || last === undefined) return { topics, placed }
    from = `${last.key}\u0000`
  }
}
