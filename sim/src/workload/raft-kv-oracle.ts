/**
 * The raft-kv workload's run: Raft's safety invariants checked after every
 * step of every node, and at the end liveness (every client completed an
 * operation after the heal) and linearizability of the client history.
 */
import type { SimCluster } from "../cluster.ts"
import { RaftInvariants } from "../raft/invariants.ts"
import type { RunOptions } from "../run.ts"
import type { SimConfig } from "../swarm.ts"
import { checkLinearizable, type Finish } from "./oracle.ts"
import { raftKvWorkload, type RaftServers } from "./raft-kv.ts"

/** The Raft KV workload: start servers and clients; at the end check the history and liveness. */
export const startRaftKv = (cluster: SimCluster, config: SimConfig, options: RunOptions): { readonly finish: Finish; readonly servers: RaftServers } => {
  const invariants = new RaftInvariants((violation) => cluster.violation(violation))
  const endNs = config.durationMs * 1e6
  const workload = raftKvWorkload({
    voters: cluster.nodeIds,
    keys: 3,
    observer: invariants.observer(),
    now: () => cluster.scheduler.now,
    // Clients stop invoking shortly before the end so their last operations can finish.
    stopAtNs: endNs - Math.min(1e9, ((config.durationMs - config.healAtMs) * 1e6) / 2),
    raft: {
      ...(options.plantedBug === "commit-previous-term" || options.plantedBug === "vote-without-log-check" ? { plantedBug: options.plantedBug } : {}),
      ...(options.readMode === undefined ? {} : { readMode: options.readMode }),
      ...(config.raftMaxBytesPerMessage === undefined ? {} : { maxBytesPerMessage: config.raftMaxBytesPerMessage })
    }
  })
  cluster.start(workload.server)
  cluster.startClients(workload.client)
  const finish: Finish = () => {
    let verdict = "skipped"
    if (cluster.violations.length === 0) {
      const healNs = config.healAtMs * 1e6
      for (const client of cluster.clientIds) {
        if ((workload.lastOk.get(client) ?? -1) < healNs) {
          cluster.violation(`liveness: client ${client} completed no operation in the ${config.durationMs - config.healAtMs} ms after the heal`)
        }
      }
      if (cluster.violations.length > 0) {
        // Each server's Raft state at the end: the first thing to read when liveness fails.
        for (const node of cluster.nodeIds) cluster.event(`state: ${workload.servers.raft(node)?.describe() ?? `${node} not running`}`)
      }
      verdict = checkLinearizable(cluster, workload.history, "client")
    }
    return {
      stats: {
        ok: workload.counts.ok,
        fail: workload.counts.fail,
        info: workload.counts.info,
        elections: invariants.elections,
        ...invariants.coverage(),
        linearizability: verdict
      },
      history: workload.history
    }
  }
  return { finish, servers: workload.servers }
}
