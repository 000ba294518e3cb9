/**
 * Object nodes in the simulator: each node runs the storage node `cairn
 * server` runs (`core/src/node/storage-node.ts`: the KV server, Raft and
 * the object layer over one frame demultiplexer), restarting from its disk
 * after a crash or a storage failure, as `cairn server` would. The handles
 * give tests and workloads each live node's `ObjectNode`.
 */
import type { NodeId } from "@cairn/core"
import { makeStorageNode } from "@cairn/core/node/storage-node"
import type { ObjectNode, ObjectNodeConfig } from "@cairn/core/object/object-node"
import type { RaftObserver } from "@cairn/core/raft/node"
import { Effect } from "effect"
import type { NodeProgram, NodeServices } from "../cluster.ts"
import { reopenAfterStorageFailure } from "../storage-restart.ts"

export interface ObjectServers {
  readonly server: NodeProgram
  /** The node's current object layer; undefined while it (re)starts. */
  readonly node: (id: NodeId) => ObjectNode | undefined
}

export const objectServers = (options: {
  readonly voters: ReadonlyArray<NodeId>
  readonly observer?: RaftObserver
  readonly object?: Partial<Omit<ObjectNodeConfig, "self" | "kv" | "members" | "frames">>
  /** Started with each incarnation of each node once its object layer is up (a co-located client, say); ends with it. */
  readonly onStart?: (id: NodeId, node: ObjectNode) => Effect.Effect<void, never, NodeServices>
  /** Where shards may go (default: the voters); a test changes it to model a node's removal or addition. */
  readonly members?: () => ReadonlyArray<NodeId>
}): ObjectServers => {
  const nodes = new Map<NodeId, ObjectNode>()
  const members = () => (options.members?.() ?? options.voters).map((id) => ({ id, domain: id }))
  const server: NodeProgram = ({ id }) =>
    reopenAfterStorageFailure(
      Effect.gen(function*() {
        nodes.delete(id)
        const { objects: node, run } = yield* makeStorageNode({
          id,
          voters: options.voters,
          kv: {
            dataDir: "raft",
            walSegmentBytes: 256 << 10,
            snapshotEvery: 500,
            ...(options.observer === undefined ? {} : { observer: options.observer })
          },
          // Rebalancing only where a caller asks for it: runs that add no node keep the traces they had before it existed.
          objects: { members, rebalance: "off", ...options.object }
        })
        nodes.set(id, node)
        yield* Effect.forkScoped(node.background)
        if (options.onStart !== undefined) yield* Effect.forkScoped(options.onStart(id, node))
        return yield* run
      })
    )
  return { server, node: (id) => nodes.get(id) }
}
