/**
 * `npm run bench -- kafka`: the Kafka protocol under librdkafka, the client
 * most Kafka users run (Debian's python3-confluent-kafka, `kafka-load.py`),
 * against real `cairn server` processes on loopback.
 *
 * - 1 node (replication factor 1) and 3 nodes (replication factor 3); a
 *   topic of 1 partition and one of 16.
 * - Throughput: one producer, acks=all, 1 KiB records batched by librdkafka
 *   (linger.ms=5), spread round-robin over the partitions, as fast as it
 *   takes them, for a fixed time: records/s and MB/s. (Its delivery
 *   latencies are a saturated client's, mostly queueing: printed, not
 *   judged.)
 * - Latency: a producer at a fixed rate below saturation and a group-less
 *   consumer of the same partition, in one process: produce latency
 *   (produce() to delivery report, acks=all) and end to end (produce() to
 *   arrival), p50 and p99.
 * - Baseline, in the same run on the same filesystem: the raw disk's
 *   sequential write rate (large writes, one fdatasync). The issue's aim:
 *   one node, 16 partitions, at least 100 MB/s or 50% of that rate,
 *   whichever is lower.
 *
 * The machine is shared and has 2 cores, which the producer (Python), the
 * servers and the disk all use: load1 and the servers' CPU are printed with
 * every row.
 */
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { freeLoopbackPorts } from "../runtime-node/src/net/free-ports.ts"
import { sequentialWrite } from "./disk-baseline.ts"
import { awaitReady, type Cluster, cpuMsOf, createTopic, startCluster, stopCluster } from "./log-cluster.ts"
import { printTable, saveResult } from "./result.ts"

const MiB = 1024 * 1024
const PYTHON = "/usr/bin/python3"
const LOAD = join(dirname(fileURLToPath(import.meta.url)), "kafka-load.py")

type Row = Record<string, string | number | boolean | null>

interface Options {
  readonly seconds: number
  readonly e2eSeconds: number
  readonly e2eRate: number
  readonly recordBytes: number
  readonly topologies: ReadonlyArray<number>
  readonly partitions: ReadonlyArray<number>
  readonly root: string
  readonly seqBytes: number
}

const USAGE = "usage: npm run bench -- kafka [--seconds S] [--e2e-seconds S] [--e2e-rate N] [--record-bytes N] [--nodes 1,3] [--partitions 1,16] [--dir PATH] [--seq-mib N]\n"

const parseOptions = (args: ReadonlyArray<string>): Options => {
  const arg = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const list = (text: string) => text.split(",").map(Number)
  const options: Options = {
    seconds: Number(arg("--seconds") ?? 8),
    e2eSeconds: Number(arg("--e2e-seconds") ?? 5),
    e2eRate: Number(arg("--e2e-rate") ?? 200),
    recordBytes: Number(arg("--record-bytes") ?? 1024),
    topologies: list(arg("--nodes") ?? "1,3"),
    partitions: list(arg("--partitions") ?? "1,16"),
    root: arg("--dir") ?? tmpdir(),
    seqBytes: Number(arg("--seq-mib") ?? 256) * MiB
  }
  const positive = [options.seconds, options.e2eSeconds, options.e2eRate, options.recordBytes, options.seqBytes, ...options.partitions]
  if (positive.some((n) => !Number.isFinite(n) || n <= 0) || options.topologies.some((n) => n !== 1 && n !== 3) || options.partitions.some((n) => !Number.isInteger(n))) {
    process.stderr.write(USAGE)
    process.exit(2)
  }
  return options
}

/** Runs kafka-load.py and parses its one JSON line. */
const runLoad = (args: ReadonlyArray<string>, timeoutMs: number): Promise<Record<string, number | null>> =>
  new Promise((resolve, reject) => {
    execFile(PYTHON, [LOAD, ...args], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`kafka-load.py ${args[0]} failed: ${error.message}\n${stderr}`))
      try {
        resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "") as Record<string, number | null>)
      } catch {
        reject(new Error(`kafka-load.py ${args[0]} printed no result: ${stdout}\n${stderr}`))
      }
    })
  })

const round = (n: number | null | undefined, digits = 1): number | null =>
  n === null || n === undefined ? null : Math.round(n * 10 ** digits) / 10 ** digits

const bootstrapOf = (kafkaPorts: ReadonlyArray<number>) => kafkaPorts.map((p) => `127.0.0.1:${p}`).join(",")

const serverCpuMs = (cluster: Cluster) => cluster.children.reduce((a, c) => a + cpuMsOf(c.pid), 0)

/** One producer at full speed on a topic of `partitions`. */
const throughput = async (cluster: Cluster, bootstrap: string, partitions: number, options: Options): Promise<Row> => {
  const topic = `bench-p${partitions}`
  await createTopic(cluster, topic, partitions)
  const cpuBefore = serverCpuMs(cluster)
  const t0 = performance.now()
  const r = await runLoad(["produce", bootstrap, topic, String(partitions), String(options.seconds), String(options.recordBytes)], (options.seconds + 90) * 1000)
  const wallMs = performance.now() - t0
  return {
    nodes: cluster.size,
    partitions,
    "record B": options.recordBytes,
    delivered: r["delivered"] ?? 0,
    errors: (r["errors"] ?? 0) + (r["undelivered"] ?? 0),
    "records/s": round(r["recordsPerSec"], 0),
    "MB/s": round(r["mbPerSec"], 2),
    "saturated delivery p50 ms": round(r["p50Ms"], 0),
    "saturated delivery p99 ms": round(r["p99Ms"], 0),
    "server CPU %": round((100 * (serverCpuMs(cluster) - cpuBefore)) / wallMs, 0),
    load1: round(loadavg()[0], 2)
  }
}

const endToEnd = async (cluster: Cluster, bootstrap: string, options: Options): Promise<Row> => {
  const topic = "bench-e2e"
  await createTopic(cluster, topic, 1)
  const r = await runLoad(["e2e", bootstrap, topic, String(options.e2eSeconds), String(options.e2eRate), String(options.recordBytes)], (options.e2eSeconds + 60) * 1000)
  return {
    nodes: cluster.size,
    "rate/s": options.e2eRate,
    sent: r["sent"] ?? 0,
    delivered: r["delivered"] ?? 0,
    received: r["received"] ?? 0,
    "produce p50 ms": round(r["produceP50Ms"], 2),
    "produce p99 ms": round(r["produceP99Ms"], 2),
    "e2e p50 ms": round(r["p50Ms"], 2),
    "e2e p99 ms": round(r["p99Ms"], 2),
    load1: round(loadavg()[0], 2)
  }
}

/** One topology: its cluster up, every partition count, the end-to-end run, its cluster stopped (whatever happens). */
const runTopology = async (runDir: string, size: number, options: Options): Promise<{ readonly rows: Array<Row>; readonly e2e: Row }> => {
  const ports = await freeLoopbackPorts(4 * size)
  const kafkaPorts = ports.slice(3 * size)
  const cluster = startCluster(runDir, size, ports.slice(0, 3 * size), kafkaPorts)
  try {
    await awaitReady(cluster, 60_000)
    const bootstrap = bootstrapOf(kafkaPorts)
    const rows: Array<Row> = []
    for (const partitions of options.partitions) {
      const row = await throughput(cluster, bootstrap, partitions, options)
      printTable([row])
      rows.push(row)
    }
    const e2e = await endToEnd(cluster, bootstrap, options)
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
}

const aimOf = (rows: ReadonlyArray<Row>, seqMiBps: number): Aim | undefined => {
  const row = rows.find((r) => r.nodes === 1 && r.partitions === 16)
  if (row === undefined) return undefined
  const diskMBps = (seqMiBps * MiB) / 1e6
  const targetMBps = Math.min(100, diskMBps / 2)
  const mbps = Number(row["MB/s"])
  return {
    aim: "1 node, 16 partitions, acks=all: MB/s >= 100 or >= 50% of the disk's sequential rate, whichever is lower",
    figure: `${mbps} MB/s (${((100 * mbps) / diskMBps).toFixed(1)}% of the disk's ${diskMBps.toFixed(0)} MB/s); server CPU ${row["server CPU %"]}% of a core, load1 ${row.load1} on ${availableParallelism()} cores`,
    target: `>= ${targetMBps.toFixed(0)} MB/s`,
    met: mbps >= targetMBps
  }
}

export async function main(args: ReadonlyArray<string>): Promise<void> {
  const options = parseOptions(args)
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: install Debian's python3-confluent-kafka (apt-get install python3-confluent-kafka)`)
  const runDir = mkdtempSync(join(options.root, "cairn-kafka-bench-"))
  try {
    const seqStart = await sequentialWrite(runDir, options.seqBytes)
    process.stdout.write(`disk baseline (start): sequential write ${seqStart.toFixed(0)} MiB/s\n`)
    const rows: Array<Row> = []
    const e2e: Array<Row> = []
    for (const size of options.topologies) {
      const result = await runTopology(runDir, size, options)
      rows.push(...result.rows)
      e2e.push(result.e2e)
    }
    const seqEnd = await sequentialWrite(runDir, options.seqBytes)
    process.stdout.write(`disk baseline (end): sequential write ${seqEnd.toFixed(0)} MiB/s\n`)
    // The harder aim: the faster of the two measurements.
    const seqMiBps = Math.max(seqStart, seqEnd)
    process.stdout.write("\nproduce (librdkafka, acks=all: committed on a majority of the partition's replicas, fsynced in their WALs)\n")
    printTable(rows)
    process.stdout.write(`\nlatency at ${options.e2eRate} records/s (produce: to the delivery report; end to end: to the consumer's poll; one partition)\n`)
    printTable(e2e)
    const aim = aimOf(rows, seqMiBps)
    if (aim !== undefined) process.stdout.write(`\naim\n${aim.met ? "MET " : "MISSED"}  ${aim.aim}\n        ${aim.figure}; aim ${aim.target}\n`)
    const path = saveResult({
      benchmark: "kafka",
      scenario:
        `Kafka protocol, librdkafka (python3-confluent-kafka) producer, acks=all, linger.ms=5, ${options.recordBytes}-byte records, ${options.seconds} s per row, ` +
        `against cairn server on loopback: 1 node (replication factor 1) and 3 nodes (replication factor 3), topics of ${options.partitions.join(" and ")} partitions; ` +
        `end to end at ${options.e2eRate} records/s for ${options.e2eSeconds} s. Baseline in the same run on the same filesystem: sequential write ` +
        `(${options.seqBytes / MiB} MiB in 4 MiB writes + one fdatasync), at the start and the end. Machine shared with other work: see load1 and CPU columns.`,
      rows: [
        { kind: "disk baseline", when: "start", "sequential MiB/s": round(seqStart, 0) },
        { kind: "disk baseline", when: "end", "sequential MiB/s": round(seqEnd, 0) },
        ...rows.map((r) => ({ kind: "produce", ...r })),
        ...e2e.map((r) => ({ kind: "end to end", ...r })),
        ...(aim === undefined ? [] : [{ kind: "aim", ...aim }])
      ]
    })
    process.stdout.write(`\nsaved ${path}\n`)
  } finally {
    rmSync(runDir, { recursive: true, force: true })
  }
}
