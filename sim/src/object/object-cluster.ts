/**
 * Object nodes in the simulator: each node runs the KV server (Raft) and
 * the object layer on top of it, restarting from its disk after a crash or
 * a storage failure, as `cairn server` would. The handles give tests and
 * workloads each live node's `ObjectNode`.
 */
import { Clock, type NodeId } from "@cairn/core"
import { makeKvServer } from "@cairn/core/kv/server"
import { makeObjectNode, type ObjectNode, type ObjectNodeConfig } from "@cairn/core/object/object-node"
import type { Reader } from "@cairn/core/raft/codec"
import type { RaftObserver } from "@cairn/core/raft/node"
import { Effect } from "effect"
import type { NodeProgram, NodeServices } from "../cluster.ts"

export interface ObjectServers {
  readonly server: NodeProgram
  /** The node's current object layer; undefined while it (re)starts. */
  readonly node: (id: NodeId) => ObjectNode | undefined
}

export const objectServers = (options: {
  readonly voters: ReadonlyArray<NodeId>
  readonly observer?: RaftObserver
  readonly object?: Partial<Omit<ObjectNodeConfig, "self" | "kv" | "members">>
  /** Started with each incarnation of each node once its object layer is up (a co-located client, say); ends with it. */
  readonly onStart?: (id: NodeId, node: ObjectNode) => Effect.Effect<void, never, NodeServices>
  /** Where shards may go (default: the voters); a test changes it to model a node's removal. */
  readonly members?: () => ReadonlyArray<NodeId>
}): ObjectServers => {
  const nodes = new Map<NodeId, ObjectNode>()
  const members = () => (options.members?.() ?? options.voters).map((id) => ({ id, domain: id }))
  const server: NodeProgram = ({ id }) =>
    Effect.forever(
      Effect.scoped(
        Effect.gen(function*() {
          nodes.delete(id)
          let frames: (from: NodeId, kind: number, body: Reader) => Effect.Effect<void> = () => Effect.void
          const kv = yield* makeKvServer({
            id,
            voters: options.voters,
            dataDir: "raft",
            walSegmentBytes: 256 << 10,
            snapshotEvery: 500,
            onForeignFrame: (from, kind, body) => frames(from, kind, body),
            ...(options.observer === undefined ? {} : { observer: options.observer })
          })
          const node = yield* makeObjectNode({ self: id, kv, members, ...options.object })
          frames = node.onFrame
          nodes.set(id, node)
          yield* Effect.forkScoped(node.background)
          if (options.onStart !== undefined) yield* Effect.forkScoped(options.onStart(id, node))
          return yield* kv.run
        })
      ).pipe(
        // Storage failed (fail-stop): recover from disk again, as a restart would, after a pause.
        Effect.catchTags({
          RaftStorageError: () => Effect.flatMap(Clock, (clock) => clock.sleep(100)),
          ShardReadError: () => Effect.flatMap(Clock, (clock) => clock.sleep(100))
        })
      )
    )
  return { server, node: (id) => nodes.get(id) }
}
