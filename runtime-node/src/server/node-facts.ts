/**
 * What `/v1/status` tells beyond the KV's Raft status (core's `NodeFacts`):
 * the Disk implementation the node runs on, and every Raft group it holds a
 * replica of — the KV's, then one per streaming-log partition — each as its
 * own replica sees it. Read when asked: a status is one `status` read per
 * group, no I/O.
 */
import type { NodeFacts, RaftGroupStatus } from "@cairn/core/kv-api/context"
import { groupId, type TopicMeta } from "@cairn/core/log/topics/topic-meta"
import type { RaftNode } from "@cairn/core/raft/node"
import { Effect } from "effect"

/** The KV's group is named this; log partitions keep their own group ids. */
export const KV_GROUP = "kv"

const groupStatus = (group: string, name: string, raft: RaftNode): Effect.Effect<RaftGroupStatus> =>
  Effect.map(raft.status, (s) => ({ group, name, role: s.role, leader: s.leader ?? null, term: s.term, commit: s.commit, applied: s.applied, lastIndex: s.lastIndex }))

export interface NodeFactsSources {
  readonly kvRaft: RaftNode
  /** The log's replicas on this node by group id (none with --no-log). */
  readonly partitions: () => ReadonlyMap<string, { readonly raft: RaftNode }>
  /** The topics this node knows, to name each partition's group "<topic>/<partition>". */
  readonly topics: () => ReadonlyMap<string, TopicMeta>
  /** The disk backend, once the disk layer has chosen it. */
  readonly diskBackend: () => string | null
}

export const nodeFacts = (sources: NodeFactsSources): Effect.Effect<NodeFacts> =>
  Effect.suspend(() => {
    const names = new Map<string, string>()
    for (const meta of sources.topics().values()) meta.replicas.forEach((_, p) => names.set(groupId(meta, p), `${meta.name}/${p}`))
    const partitions = [...sources.partitions()].map(([group, replica]) => ({ group, name: names.get(group) ?? group, raft: replica.raft }))
    partitions.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))
    return Effect.map(
      Effect.all([groupStatus(KV_GROUP, KV_GROUP, sources.kvRaft), ...partitions.map((p) => groupStatus(p.group, p.name, p.raft))]),
      (groups) => ({ diskBackend: sources.diskBackend(), groups })
    )
  })
