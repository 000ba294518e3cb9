/**
 * The default simulator workload: a Raft-replicated KV store under Jepsen's
 * register workload. Clients (separate processes, c1..cN) read, write and
 * compare-and-set a few keys through the real client library while the
 * nemesis attacks the servers; every operation is recorded as a Jepsen
 * history and checked for linearizability (per key, cas-register model) —
 * with faults on.
 *
 * Writes use unique values, so a compare-and-set on a key's revision is a
 * compare-and-set on its value: the client reads a key (value v at revision
 * r), and its cas(v → w) is the KV's cas(expected r, w).
 *
 * The workload also hands out each server's `RaftNode` and `Raft` state, so
 * the nemesis can change the membership through the current leader as an
 * operator would. Clients keep the original node list throughout.
 */
import { Clock, Random, type NodeId } from "@cairn/core"
import { makeKvClient } from "@cairn/core/kv/client"
import { makeKvServer } from "@cairn/core/kv/server"
import { initialConfig, type ClusterConfig } from "@cairn/core/raft/membership"
import type { RaftNode, RaftObserver } from "@cairn/core/raft/node"
import type { Raft, RaftOptions } from "@cairn/core/raft/raft"
import type { Op, Value } from "@cairn/jepsen"
import { Effect } from "effect"
import type { NodeProgram } from "../cluster.ts"
import { reopenAfterStorageFailure } from "../storage-restart.ts"

export interface RaftKvWorkload {
  readonly server: NodeProgram
  readonly client: NodeProgram
  readonly history: ReadonlyArray<Op>
  readonly counts: { ok: number; fail: number; info: number }
  /** Virtual ns of each client's last ok operation. */
  readonly lastOk: Map<NodeId, number>
  /** Each server's Raft, for membership changes. */
  readonly servers: RaftServers
}

/** The servers' Raft handles, as the nemesis sees them (the simulator shares memory with the nodes). */
export interface RaftServers {
  /** The node's current `RaftNode`, once it has recovered; undefined while it starts again. */
  readonly node: (id: NodeId) => RaftNode | undefined
  /** The same incarnation's Raft state as of its last step; undefined before its first step. */
  readonly raft: (id: NodeId) => Raft | undefined
  /**
   * The newest configuration any node has applied. Configurations take
   * effect when applied and every node applies the same entries, so this is
   * the latest committed one, and it only moves forward.
   */
  readonly committedConfig: () => ClusterConfig
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const raftKvWorkload = (options: {
  readonly voters: ReadonlyArray<NodeId>
  readonly keys: number
  readonly observer: RaftObserver
  readonly now: () => number
  readonly stopAtNs: number
  readonly raft?: Partial<Omit<RaftOptions, "id" | "randomInt">>
}): RaftKvWorkload => {
  const history: Array<Op> = []
  const counts = { ok: 0, fail: 0, info: 0 }
  const lastOk = new Map<NodeId, number>()
  const record = (op: Omit<Op, "index" | "time">) => history.push({ ...op, index: history.length, time: options.now() })

  const handles = new Map<NodeId, { readonly node: RaftNode; raft: Raft | undefined }>()
  let committed = { index: 0, config: initialConfig(options.voters) }
  const observer: RaftObserver = {
    afterReady: (raft, entries) => {
      const handle = handles.get(raft.id)
      if (handle !== undefined) handle.raft = raft
      if (raft.log.applied > committed.index) committed = { index: raft.log.applied, config: raft.config }
      options.observer.afterReady(raft, entries)
    }
  }
  const servers: RaftServers = {
    node: (id) => handles.get(id)?.node,
    raft: (id) => handles.get(id)?.raft,
    committedConfig: () => committed.config
  }

  const server: NodeProgram = ({ id }) =>
    reopenAfterStorageFailure(
      Effect.gen(function*() {
        // A new incarnation (or a recovery after a storage failure): the old handles are dead.
        handles.delete(id)
        const kv = yield* makeKvServer({
          id,
          voters: options.voters,
          dataDir: "raft",
          walSegmentBytes: 256 << 10,
          snapshotEvery: 150,
          observer,
          ...(options.raft === undefined ? {} : { raft: options.raft })
        })
        handles.set(id, { node: kv.raft, raft: undefined })
        return yield* kv.run
      })
    )

  const client: NodeProgram = ({ id }) =>
    Effect.scoped(
      Effect.gen(function*() {
        const clock = yield* Clock
        const random = yield* Random
        const process = Number(id.slice(1))
        const kv = yield* makeKvClient({ clientId: id, nodes: options.voters, requestTimeoutMs: 300, deadlineMs: 2_000 })
        const lastRead = new Map<string, { readonly value: Value; readonly revision: number }>()
        let counter = 0
        while (options.now() < options.stopAtNs) {
          yield* clock.sleep(yield* random.nextIntBetween(1, 30))
          const key = `k${yield* random.nextIntBetween(0, options.keys - 1)}`
          const dice = yield* random.nextIntBetween(0, 99)
          if (dice < 40) {
            record({ process, type: "invoke", f: "read", value: [key, null] })
            const result = yield* Effect.result(kv.read({ op: "get", key }))
            if (result._tag === "Failure" || result.success.type !== "get") {
              record({ process, type: "fail", f: "read", value: [key, null] })
              counts.fail++
              continue
            }
            const got = result.success
            const value: Value = got.found ? Number(decoder.decode(got.value)) : null
            lastRead.set(key, { value, revision: got.revision })
            record({ process, type: "ok", f: "read", value: [key, value] })
            counts.ok++
            lastOk.set(id, options.now())
          } else if (dice < 70) {
            const v = process * 1_000_000 + ++counter
            record({ process, type: "invoke", f: "write", value: [key, v] })
            const result = yield* Effect.result(kv.write({ op: "put", key, value: encoder.encode(String(v)) }))
            if (result._tag === "Success" && result.success.type === "put") {
              record({ process, type: "ok", f: "write", value: [key, v] })
              counts.ok++
              lastOk.set(id, options.now())
            } else if (result._tag === "Failure" && result.failure._tag === "KvUnavailableError") {
              record({ process, type: "fail", f: "write", value: [key, v] })
              counts.fail++
            } else {
              record({ process, type: "info", f: "write", value: [key, v] })
              counts.info++
            }
          } else {
            const seen = lastRead.get(key) ?? { value: null, revision: 0 }
            const v = process * 1_000_000 + ++counter
            record({ process, type: "invoke", f: "cas", value: [key, [seen.value, v]] })
            const result = yield* Effect.result(
              kv.write({ op: "cas", key, expected: seen.revision === 0 ? "absent" : seen.revision, value: encoder.encode(String(v)) })
            )
            if (result._tag === "Success" && result.success.type === "cas") {
              const type = result.success.ok ? "ok" : "fail"
              record({ process, type, f: "cas", value: [key, [seen.value, v]] })
              counts[type]++
              if (result.success.ok) lastOk.set(id, options.now())
            } else if (result._tag === "Failure" && result.failure._tag === "KvUnavailableError") {
              record({ process, type: "fail", f: "cas", value: [key, [seen.value, v]] })
              counts.fail++
            } else {
              record({ process, type: "info", f: "cas", value: [key, [seen.value, v]] })
              counts.info++
            }
          }
        }
        yield* Effect.never
      })
    )

  return { server, client, history, counts, lastOk, servers }
}
