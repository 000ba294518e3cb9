/**
 * A storage node, wired once for every runtime: the KV server (Raft and the
 * KV client protocol) and the object layer over one frame demultiplexer on
 * the node's Network. `cairn server`, the simulator's object cluster and the
 * S3 test harness all build their node here, so the simulator runs exactly
 * the wiring production runs.
 *
 * A new service joins a node by registering the frame kinds it owns on
 * `frames` (see `transport/frame-demux.ts`); nothing else on this page needs
 * to know about it.
 *
 * This is a generator to delegate to with `yield*` from the caller's
 * `Effect.gen`, not an effect of its own: the simulator's scheduler counts
 * Effect operations, and a wrapper would shift every later yield of the
 * node's fiber (docs/style.md, "Moving code without changing behaviour").
 */
import { Effect, type Scope } from "effect"
import type { Clock } from "../clock/clock.ts"
import type { Disk } from "../disk/disk.ts"
import { makeLogNode, type LogNode, type LogNodeConfig } from "../log/service/log-node.ts"
import { makeKvServer, type KvServer, type KvServerConfig } from "../kv/server.ts"
import type { Network } from "../network/network.ts"
import { makeObjectNode, type ObjectNode, type ObjectNodeConfig } from "../object/object-node.ts"
import type { RaftStorageError } from "../raft/storage.ts"
import type { Random } from "../random/random.ts"
import type { ShardReadError } from "../shard-store/shard-store.ts"
import type { FrameDemux } from "../transport/frame-demux.ts"
import type { NodeId } from "./node-id.ts"

export interface StorageNodeConfig {
  readonly id: NodeId
  /** The initial cluster (every node of a new cluster must be given the same list). */
  readonly voters: ReadonlyArray<NodeId>
  /** The KV server's settings (its data directory, Raft options, snapshot cadence, observer). */
  readonly kv: Omit<KvServerConfig, "id" | "voters" | "frames">
  /** The object layer's settings; `members` says where shards may go. */
  readonly objects: Omit<ObjectNodeConfig, "self" | "kv" | "frames">
  /** The streaming log's settings; omitted, the node runs no log service (nor its frame kinds). */
  readonly log?: Omit<LogNodeConfig, "self" | "kv" | "frames">
}

export interface StorageNode {
  readonly id: NodeId
  readonly kv: KvServer
  readonly objects: ObjectNode
  /** The streaming log, if configured. */
  readonly log: LogNode | undefined
  /** The node's frame demultiplexer: where a further service registers its frame kinds. */
  readonly frames: FrameDemux
  /**
   * The node's main loops (Raft, the frame demultiplexer, KV answers, the log's reconciler) until storage fails.
   * The object layer's background loops are `objects.background`, for the caller to fork.
   */
  readonly run: Effect.Effect<never, RaftStorageError>
}

type Steps<A> = Generator<Effect.Effect<unknown, RaftStorageError | ShardReadError, Clock | Random | Disk | Network | Scope.Scope>, A, unknown>

/** Builds the node's services over one demultiplexer; delegate to it with `yield*`. */
export function* makeStorageNode(config: StorageNodeConfig): Steps<StorageNode> {
  // The KV server makes the node's demultiplexer over its Network (Raft runs its loop); the
  // object layer registers its kinds on the same one.
  const kv = yield* makeKvServer({ ...config.kv, id: config.id, voters: config.voters })
  const objects = yield* makeObjectNode({ ...config.objects, self: config.id, kv, frames: kv.frames })
  const log = config.log === undefined ? undefined : yield* makeLogNode({ ...config.log, self: config.id, kv, frames: kv.frames })
  const run = log === undefined ? kv.run : Effect.raceFirst(kv.run, log.run)
  return { id: config.id, kv, objects, log, frames: kv.frames, run }
}
