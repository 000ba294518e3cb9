/**
 * `npm run bench -- raft [seconds] [--sim-only | --real-only] [real-part flags]`: committed KV writes per simulated second
 * and per wall second, on the simulator, fault-free, for 3- and 5-node
 * clusters, with a 1-node cluster (no replication) measured in the same run
 * as the baseline. Clients run closed loops (each waits for its answer
 * before the next write) through the real client library; the simulated
 * disk takes 20–200 µs per operation and the network 0.1–0.5 ms one way.
 *
 * Then, unless `--sim-only`, the same question on real processes: a 3-node
 * Cairn cluster (`cairn server` x3) against a 3-member etcd started in the
 * same run on this machine, committed PUTs per wall second and p50/p99 at
 * 1, 16 and 256 closed-loop HTTP clients (`bench/cluster-vs-etcd.ts`, shared
 * with `npm run bench -- node`; flags `--clients`, `--load-seconds`,
 * `--warmup-seconds`, `--keys`, `--dir`, `--no-etcd`), saved as
 * `bench/results/raft-real-*.json`. `--real-only` skips the simulator part.
 */
import { makeKvClient } from "@cairn/core/kv/client"
import { makeKvServer } from "@cairn/core/kv/server"
import { seededSource } from "@cairn/runtime-test"
import { faultFreeDisk, faultFreeNetwork, SimCluster } from "@cairn/sim"
import { Effect } from "effect"
import { clusterVsEtcdMain } from "./cluster-vs-etcd.ts"
import { printTable, saveResult } from "./result.ts"

const encoder = new TextEncoder()

/** Runs a cluster with `clients` closed-loop writers and returns the figures. */
const scenario = (nodes: number, clients: number, simulatedSeconds: number) => {
  const cluster = faultFreeClusterWithClients(nodes, clients)
  let committed = 0
  const latencies: Array<number> = []
  const endNs = simulatedSeconds * 1e9
  const warmupNs = 1e9
  cluster.start(({ id }) =>
    Effect.scoped(
      Effect.gen(function*() {
        const server = yield* makeKvServer({ id, voters: cluster.nodeIds, dataDir: "raft", walSegmentBytes: 4 << 20, snapshotEvery: 50_000 })
        return yield* server.run
      })
    ).pipe(Effect.orDie)
  )
  cluster.startClients(({ id }) =>
    Effect.scoped(
      Effect.gen(function*() {
        const kv = yield* makeKvClient({ clientId: id, nodes: cluster.nodeIds, requestTimeoutMs: 1_000, deadlineMs: 10_000 })
        let i = 0
        for (;;) {
          const start = cluster.scheduler.now
          const result = yield* Effect.result(kv.write({ op: "put", key: `${id}-${i++ % 100}`, value: encoder.encode("v".repeat(64)) }))
          if (result._tag === "Success" && start >= warmupNs) {
            committed++
            latencies.push(cluster.scheduler.now - start)
          }
        }
      })
    )
  )
  const started = performance.now()
  cluster.scheduler.run({ untilNs: endNs })
  const wallMs = performance.now() - started
  latencies.sort((a, b) => a - b)
  const pct = (p: number) => (latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! / 1e6)
  const measuredS = (endNs - warmupNs) / 1e9
  return {
    nodes,
    clients,
    committed,
    perSimulatedS: Math.round(committed / measuredS),
    perWallS: Math.round(committed / (wallMs / 1000)),
    p50ms: pct(0.5),
    p99ms: pct(0.99),
    wallMs: Math.round(wallMs),
    violations: cluster.violations.length
  }
}

const faultFreeClusterWithClients = (nodes: number, clients: number): SimCluster =>
  new SimCluster({
    random: seededSource(`raft-bench-${nodes}-${clients}`),
    nodes,
    clients,
    disk: { ...faultFreeDisk, latencyNs: [20_000, 200_000] },
    network: faultFreeNetwork,
    clocks: []
  })

export const main = async (args: ReadonlyArray<string>): Promise<void> => {
  if (!args.includes("--real-only")) simulated(args[0] !== undefined && !args[0].startsWith("--") ? Number(args[0]) : 10)
  // The real-process part: Cairn vs etcd on this machine, its own results file.
  if (!args.includes("--sim-only")) await clusterVsEtcdMain("raft-real", args)
}

const simulated = (seconds: number): void => {
  const rows: Array<Record<string, string | number>> = []
  for (const nodes of [1, 3, 5]) {
    for (const clients of [1, 16, 64]) {
      const r = scenario(nodes, clients, seconds)
      rows.push({ cluster: nodes === 1 ? "1 node (baseline: no replication)" : `${nodes} nodes`, ...r })
    }
  }
  printTable(rows)
  const path = saveResult({
    benchmark: "raft",
    scenario:
      `Simulator, fault-free: closed-loop clients writing 64-byte values through the KV client library for ${seconds} simulated s (first second excluded). Disk 20-200 us per op, network 0.1-0.5 ms one way. Baseline: a 1-node cluster in the same run. perSimulatedS is throughput inside the model; perWallS is how fast the simulator executes it.`,
    rows
  })
  process.stdout.write(`saved ${path}\n`)
}
