/**
 * Log nodes in the simulator: each node runs the storage node `cairn
 * server` runs (`core/src/node/storage-node.ts`) with the streaming log
 * configured, restarting from its disk after a crash or a storage failure.
 * The handles give tests and workloads each live node's `StorageNode`.
 */
import type { NodeId } from "@cairn/core"
import type { LogNodeConfig } from "@cairn/core/log/service/log-node"
import { makeStorageNode, type StorageNode } from "@cairn/core/node/storage-node"
import type { RaftObserver } from "@cairn/core/raft/node"
import { Effect } from "effect"
import type { NodeProgram } from "../cluster.ts"
import { reopenAfterStorageFailure } from "../storage-restart.ts"

export interface LogServers {
  readonly server: NodeProgram
  /** The node's current storage node; undefined while it (re)starts. */
  readonly node: (id: NodeId) => StorageNode | undefined
}

export const logServers = (options: {
  readonly voters: ReadonlyArray<NodeId>
  readonly observer?: RaftObserver
  readonly log?: Omit<LogNodeConfig, "self" | "kv" | "frames">
}): LogServers => {
  const nodes = new Map<NodeId, StorageNode>()
  const server: NodeProgram = ({ id }) =>
    reopenAfterStorageFailure(
      Effect.gen(function*() {
        nodes.delete(id)
        const node = yield* makeStorageNode({
          id,
          voters: options.voters,
          kv: { dataDir: "raft", walSegmentBytes: 256 << 10, snapshotEvery: 500, ...(options.observer === undefined ? {} : { observer: options.observer }) },
          objects: { members: () => options.voters.map((v) => ({ id: v, domain: v })) },
          log: { walSegmentBytes: 256 << 10, ...options.log }
        })
        nodes.set(id, node)
        return yield* node.run
      })
    )
  return { server, node: (id) => nodes.get(id) }
}
