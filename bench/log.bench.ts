/**
 * `npm run bench -- log [--duration-ms MS] [--nodes 1,3] [--e2e-ms MS]
 * [--dir PATH] [--seq-mib N] [--sync-ms MS]`: appends to the streaming log
 * of real `cairn server` processes on loopback (one node with replication
 * factor 1, three nodes with replication factor 3: acks=all is the only
 * mode), next to what the same disk does through node:fs in the same run.
 *
 * Method (docs/log.md, "Performance"):
 * - Per topology, topics of 1 and of 16 partitions; per phase a partition
 *   count, a batch size (1 KiB: one record; 64 KiB: 64 records of ~1 KiB)
 *   and a producer count (1, 16), each producer a closed loop for
 *   `--duration-ms` (send one RecordBatch v2 as the body of
 *   `POST /v1/log/topics/T/partitions/P/records`, wait for its
 *   acknowledgement: committed on a majority of the partition's replicas,
 *   fsynced in their WALs), on its own keep-alive connection to one node
 *   (producers spread over the nodes; a producer writes partitions
 *   round-robin when there are more partitions than producers). Append
 *   latency is request sent to answer read. Every partition is written to
 *   once before the phases, so leaders are elected.
 * - End to end: one producer appends a 1-record batch every 10 ms through
 *   one node while one consumer reads the partition through another node in
 *   a loop (each read linearizable); a record's latency runs from its
 *   produce request being sent to the consumer holding it.
 * - Baseline, same run, same filesystem as the servers' data: a sequential
 *   write (4 MiB writes to a new file and one fdatasync) in MiB/s and 4 KiB
 *   write + fdatasync at successive offsets (one writer) with its latency,
 *   at the start and at the end; the aims use the faster of the two (the
 *   harder aim).
 * - Per phase also the servers' file fsyncs per append (their /metrics), the
 *   servers' and this process's CPU (from /proc, % of one core) and the
 *   load average: what limits a figure.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { Agent } from "node:http"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { freeLoopbackPorts } from "../runtime-node/src/net/free-ports.ts"
import { sequentialWrite, syncWrites, type SyncWrites } from "./disk-baseline.ts"
import { awaitReady, batchOf, call, type Cluster, cpuMsOf, createTopic, fsyncCount, KiB, recordsPath, RECORD_BATCH_CONTENT_TYPE, sleep, startCluster, stopCluster } from "./log-cluster.ts"
import { printTable, saveResult } from "./result.ts"

type Row = Record<string, string | number | boolean | null>

const MiB = 1024 * KiB

interface Options {
  readonly durationMs: number
  readonly e2eMs: number
  readonly topologies: ReadonlyArray<number>
  readonly root: string
  readonly seqBytes: number
  readonly syncMs: number
}

const parseOptions = (args: ReadonlyArray<string>): Options => {
  const arg = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const options: Options = {
    durationMs: Number(arg("--duration-ms") ?? 2000),
    e2eMs: Number(arg("--e2e-ms") ?? 3000),
    topologies: (arg("--nodes") ?? "1,3").split(",").map(Number),
    root: arg("--dir") ?? tmpdir(),
    seqBytes: Number(arg("--seq-mib") ?? 256) * MiB,
    syncMs: Number(arg("--sync-ms") ?? 1500)
  }
  const bad = [options.durationMs, options.e2eMs, options.seqBytes, options.syncMs].some((n) => !Number.isInteger(n) || n <= 0)
  if (bad || options.topologies.some((n) => n !== 1 && n !== 3)) {
    process.stderr.write("usage: npm run bench -- log [--duration-ms MS] [--e2e-ms MS] [--nodes 1,3] [--dir PATH] [--seq-mib N] [--sync-ms MS]\n")
    process.exit(2)
  }
  return options
}

const quantile = (sorted: ReadonlyArray<number>, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

interface Phase {
  readonly partitions: number
  readonly batchBytes: number
  readonly producers: number
}

/** The servers' and this process's CPU and the fsyncs so far, to take differences over a phase. */
const snapshot = async (cluster: Cluster, agent: Agent) => ({
  at: performance.now(),
  serverCpuMs: cluster.children.reduce((a, c) => a + cpuMsOf(c.pid), 0),
  selfCpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  fsyncs: await fsyncCount(cluster, agent)
})

/** One phase: `producers` closed loops for `durationMs`; its row. */
const runPhase = async (cluster: Cluster, phase: Phase, durationMs: number): Promise<Row> => {
  const topic = phase.partitions === 1 ? "bench-1" : "bench-16"
  const batch = batchOf(phase.batchBytes)
  const metrics = new Agent({ keepAlive: true })
  const before = await snapshot(cluster, metrics)
  const latencies: Array<number> = []
  const errors = new Map<string, number>()
  const deadline = performance.now() + durationMs
  await Promise.all(Array.from({ length: phase.producers }, async (_, w) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const node = cluster.nodes[w % cluster.size]!
    const mine = Array.from({ length: phase.partitions }, (_, p) => p).filter((p) => phase.partitions <= phase.producers ? p === w % phase.partitions : p % phase.producers === w)
    for (let i = 0; performance.now() < deadline; i++) {
      const t = performance.now()
      const a = await call(agent, node, "POST", recordsPath(topic, mine[i % mine.length]!), batch, RECORD_BATCH_CONTENT_TYPE).catch((e: Error) => ({ status: 0, body: e.message }))
      if (a.status === 200) latencies.push(performance.now() - t)
      else errors.set(String(a.status), (errors.get(String(a.status)) ?? 0) + 1)
    }
    agent.destroy()
  }))
  const after = await snapshot(cluster, metrics)
  metrics.destroy()
  const seconds = (after.at - before.at) / 1000
  const sorted = latencies.sort((a, b) => a - b)
  return {
    nodes: cluster.size,
    partitions: phase.partitions,
    "batch KiB": phase.batchBytes / KiB,
    producers: phase.producers,
    "appends/s": round(latencies.length / seconds),
    "MiB/s": round((latencies.length * batch.length) / MiB / seconds, 2),
    "p50 ms": round(quantile(sorted, 0.5), 2),
    "p99 ms": round(quantile(sorted, 0.99), 2),
    errors: [...errors].map(([s, n]) => `${s}x${n}`).join(" ") || "0",
    "fsyncs/append": latencies.length === 0 ? null : round((after.fsyncs - before.fsyncs) / latencies.length, 2),
    "fsyncs/s": round((after.fsyncs - before.fsyncs) / seconds),
    "server CPU %": round((100 * (after.serverCpuMs - before.serverCpuMs)) / 1000 / seconds),
    "bench CPU %": round((100 * (after.selfCpuMs - before.selfCpuMs)) / 1000 / seconds),
    load1: round(loadavg()[0]!, 2)
  }
}

/** End to end: a producer every 10 ms through one node, a consumer reading through another; record latencies in ms. */
const endToEnd = async (cluster: Cluster, durationMs: number): Promise<Row> => {
  const topic = "bench-e2e"
  await createTopic(cluster, topic, 1)
  const producerNode = cluster.nodes[0]!
  const consumerNode = cluster.nodes[cluster.size - 1]!
  const sentAt = new Map<string, number>()
  const latencies: Array<number> = []
  let stop = false
  const produce = async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    for (let i = 0; !stop; i++) {
      const id = `e2e-${i}`
      sentAt.set(id, performance.now())
      await call(agent, producerNode, "POST", recordsPath(topic, 0), JSON.stringify({ records: [{ value: id }] }))
      await sleep(10)
    }
    agent.destroy()
  }
  const consume = async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    // The warm-up batch is at offset 0; the measured records follow it.
    let offset = 1
    while (!stop) {
      const a = await call(agent, consumerNode, "GET", `${recordsPath(topic, 0)}?offset=${offset}`)
      if (a.status !== 200) continue
      const now = performance.now()
      const body = JSON.parse(a.body) as { records: Array<{ value: string }>; nextOffset: number }
      for (const r of body.records) {
        const t = sentAt.get(r.value)
        if (t !== undefined) latencies.push(now - t)
      }
      offset = body.nextOffset
    }
    agent.destroy()
  }
  const running = Promise.all([produce(), consume()])
  await sleep(durationMs)
  stop = true
  await running
  const sorted = latencies.sort((a, b) => a - b)
  return { nodes: cluster.size, records: latencies.length, "e2e p50 ms": round(quantile(sorted, 0.5), 2), "e2e p99 ms": round(quantile(sorted, 0.99), 2) }
}

interface Baseline {
  readonly seqMiBps: number
  readonly sync: SyncWrites
}

const measureDisk = async (dir: string, options: Options, when: string): Promise<Baseline> => {
  const seqMiBps = await sequentialWrite(dir, options.seqBytes)
  const sync = await syncWrites(dir, options.syncMs)
  process.stdout.write(
    `disk baseline (${when}): sequential write ${seqMiBps.toFixed(0)} MiB/s; 4 KiB write+fdatasync ${sync.opsPerSec.toFixed(0)} ops/s, ` +
      `p50 ${sync.p50Ms.toFixed(2)} ms, p99 ${sync.p99Ms.toFixed(2)} ms\n`
  )
  return { seqMiBps, sync }
}

const PHASES: ReadonlyArray<Phase> = [1, 16].flatMap((partitions) =>
  [KiB, 64 * KiB].flatMap((batchBytes) => [1, 16].map((producers) => ({ partitions, batchBytes, producers })))
)

/** One topology: its cluster up, every phase, the end-to-end run, its cluster stopped (whatever happens). */
const runTopology = async (runDir: string, size: number, options: Options): Promise<{ rows: Array<Row>; e2e: Row }> => {
  const cluster = startCluster(runDir, size, await freeLoopbackPorts(3 * size))
  try {
    await awaitReady(cluster, 60_000)
    await createTopic(cluster, "bench-1", 1)
    await createTopic(cluster, "bench-16", 16)
    const rows: Array<Row> = []
    for (const phase of PHASES) {
      const row = await runPhase(cluster, phase, options.durationMs)
      printTable([row])
      rows.push(row)
    }
    const e2e = await endToEnd(cluster, options.e2eMs)
    printTable([e2e])
    return { rows, e2e }
  } finally {
    await stopCluster(cluster)
  }
}

interface Aim {
  readonly aim: string
  readonly figure: string
  readonly target: string
  readonly met: boolean
  readonly limits: string
}

/** What a phase used of the machine: fsyncs (all nodes share this disk on loopback) against the disk's own rate, and CPU. */
const limitsOf = (row: Row, disk: Baseline): string =>
  `${row["fsyncs/append"]} fsyncs/append, ${row["fsyncs/s"]} fsyncs/s on the one disk (4 KiB write+fdatasync alone: ${disk.sync.opsPerSec.toFixed(0)}/s); ` +
  `server CPU ${row["server CPU %"]}% of a core, bench CPU ${row["bench CPU %"]}%, load1 ${row.load1} on ${availableParallelism()} cores`

const aimsOf = (rows: ReadonlyArray<Row>, disk: Baseline): Array<Aim> => {
  const aims: Array<Aim> = []
  const one = rows.filter((r) => r.nodes === 1 && r.partitions === 16 && r["batch KiB"] === 64)
  if (one.length > 0) {
    const best = one.reduce((a, b) => (Number(b["MiB/s"]) > Number(a["MiB/s"]) ? b : a))
    const share = Number(best["MiB/s"]) / disk.seqMiBps
    aims.push({
      aim: "1 node, 16 partitions, 64 KiB batches: MiB/s >= 50% of the sequential disk rate",
      figure: `${best["MiB/s"]} MiB/s with ${best.producers} producers (${(100 * share).toFixed(1)}% of ${disk.seqMiBps.toFixed(0)} MiB/s)`,
      target: `>= ${(disk.seqMiBps / 2).toFixed(0)} MiB/s`,
      met: share >= 0.5,
      limits: limitsOf(best, disk)
    })
  }
  const three = rows.find((r) => r.nodes === 3 && r.partitions === 1 && r["batch KiB"] === 1 && r.producers === 1)
  if (three !== undefined) {
    const p99 = Number(three["p99 ms"])
    aims.push({
      aim: "3 nodes, 1 partition, acks=all: p99 append latency <= 2x one fdatasync",
      figure: `p99 ${p99} ms (p50 ${three["p50 ms"]} ms), 1 producer, 1 KiB batches`,
      target: `<= ${(2 * disk.sync.p50Ms).toFixed(2)} ms (2 x fdatasync p50 ${disk.sync.p50Ms.toFixed(2)} ms)`,
      met: p99 <= 2 * disk.sync.p50Ms,
      limits: limitsOf(three, disk)
    })
  }
  return aims
}

export async function main(args: ReadonlyArray<string>): Promise<void> {
  const options = parseOptions(args)
  const runDir = mkdtempSync(join(options.root, "cairn-log-bench-"))
  try {
    const first = await measureDisk(runDir, options, "start")
    const rows: Array<Row> = []
    const e2e: Array<Row> = []
    for (const size of options.topologies) {
      const result = await runTopology(runDir, size, options)
      rows.push(...result.rows)
      e2e.push(result.e2e)
    }
    const last = await measureDisk(runDir, options, "end")
    // The harder aim: the faster sequential rate and the faster fdatasync of the two measurements.
    const disk: Baseline = { seqMiBps: Math.max(first.seqMiBps, last.seqMiBps), sync: first.sync.p50Ms <= last.sync.p50Ms ? first.sync : last.sync }
    process.stdout.write("\nappends (acks=all: committed on a majority, fsynced in their WALs)\n")
    printTable(rows)
    process.stdout.write("\nend to end (produce request sent to the record read through another node)\n")
    printTable(e2e)
    const aims = aimsOf(rows, disk)
    process.stdout.write("\naims\n")
    for (const a of aims) process.stdout.write(`${a.met ? "MET " : "MISSED"}  ${a.aim}\n        ${a.figure}; aim ${a.target}\n        measured: ${a.limits}\n`)
    const baselineRows: Array<Row> = [first, last].map((b, i) => ({
      kind: "disk baseline", when: i === 0 ? "start" : "end", "sequential MiB/s": round(b.seqMiBps), "4 KiB write+fdatasync ops/s": round(b.sync.opsPerSec),
      "fdatasync p50 ms": round(b.sync.p50Ms, 3), "fdatasync p99 ms": round(b.sync.p99Ms, 3)
    }))
    const path = saveResult({
      benchmark: "log",
      scenario:
        `Streaming log appends through cairn server's HTTP log API (raw RecordBatch v2 bodies), acks=all, on loopback: 1 node (replication factor 1) and 3 nodes ` +
        `(replication factor 3); ${options.durationMs} ms per phase of closed-loop producers; end to end over ${options.e2eMs} ms. Baseline in the same run on the same filesystem: ` +
        `sequential write (${options.seqBytes / MiB} MiB in 4 MiB writes + one fdatasync) and 4 KiB write + fdatasync. Machine shared with other work: see load1 and CPU columns.`,
      rows: [...baselineRows, ...rows.map((r) => ({ kind: "append", ...r })), ...e2e.map((r) => ({ kind: "end to end", ...r })), ...aims.map((a) => ({ kind: "aim", ...a }))]
    })
    process.stdout.write(`\nsaved ${path}\n`)
  } finally {
    rmSync(runDir, { recursive: true, force: true })
  }
}
