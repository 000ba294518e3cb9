/**
 * The log benchmark's cluster (`log.bench.ts`): `cairn server` processes on
 * loopback, each in its own process group and stopped by the group's id
 * (at the end, on a failure, or as a last resort when this process exits),
 * their CPU from /proc and their fsyncs from /metrics, and plain HTTP calls
 * on keep-alive agents.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createWriteStream, readFileSync, type WriteStream } from "node:fs"
import { Agent, request } from "node:http"
import { join } from "node:path"
import { apiAuthorization } from "@cairn/runtime-node/server/api-credentials"
import { RECORD_BATCH_CONTENT_TYPE } from "@cairn/core/kv-api/log-operations"
import { encodeBatch, type LogRecord } from "@cairn/core/log/record-batch"
import { cliMain, clusterEnv, serverArgs, type LocalNodeSpec } from "@cairn/runtime-node/server/local-cluster"
import { BENCH_CREDENTIALS, planBenchCluster } from "./bench-cluster.ts"

export const CREDENTIALS = BENCH_CREDENTIALS
const AUTH = apiAuthorization(CREDENTIALS)
export { RECORD_BATCH_CONTENT_TYPE }
export const KiB = 1024
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------
// Processes: each server in its own process group, stopped by the group's id.

const started = new Set<ChildProcess>()
export const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null

export const signalGroup = (c: ChildProcess, signal: NodeJS.Signals) => {
  try {
    if (c.pid !== undefined) process.kill(-c.pid, signal)
  } catch {
    // the group is gone
  }
}

export const stopGroups = async (children: ReadonlyArray<ChildProcess>): Promise<void> => {
  for (const c of children) started.delete(c)
  const running = children.filter(alive)
  const exits = running.map((c) => new Promise<void>((r) => c.once("exit", () => r())))
  for (const c of running) signalGroup(c, "SIGTERM")
  const timer = setTimeout(() => running.filter(alive).forEach((c) => signalGroup(c, "SIGKILL")), 10_000)
  await Promise.all(exits)
  clearTimeout(timer)
}

// Last resort (an uncaught error): no server outlives the bench.
process.on("exit", () => {
  for (const c of started) if (alive(c)) signalGroup(c, "SIGKILL")
})

/** CPU time (user + system, ms) of a process so far, from /proc. */
export const cpuMsOf = (pid: number | undefined): number => {
  if (pid === undefined) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

export interface Cluster {
  readonly size: number
  readonly nodes: ReadonlyArray<LocalNodeSpec>
  readonly children: ReadonlyArray<ChildProcess>
  readonly log: WriteStream
  readonly logFile: string
}

/** Starts `size` nodes on the given loopback ports (3 per node); with `kafkaPorts`, each node's Kafka listener too. */
export const startCluster = (runDir: string, size: number, ports: ReadonlyArray<number>, kafkaPorts?: ReadonlyArray<number>): Cluster => {
  const plan = planBenchCluster(runDir, size, ports, "log", kafkaPorts)
  const logFile = join(runDir, `cluster-${size}.log`)
  const log = createWriteStream(logFile)
  const children = plan.nodes.map((spec) => {
    const child = spawn(process.execPath, [cliMain, ...serverArgs(plan, spec, ["--log-level", "warn", "--console-listen", "127.0.0.1:0"])], {
      env: { ...process.env, ...clusterEnv(plan) },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    child.stdout.on("data", (d: Buffer) => log.write(`[${spec.id}] ${d.toString()}`))
    child.stderr.on("data", (d: Buffer) => log.write(`[${spec.id}] ${d.toString()}`))
    child.once("exit", (code, signal) => {
      if (started.has(child)) process.stderr.write(`log bench: cairn ${spec.id} exited (code ${code}, signal ${signal}); see ${logFile}\n`)
    })
    started.add(child)
    return child
  })
  return { size, nodes: plan.nodes, children, log, logFile }
}

export const stopCluster = async (cluster: Cluster): Promise<void> => {
  await stopGroups(cluster.children)
  await new Promise((r) => cluster.log.end(r))
}

// ---------------------------------------------------------------------------
// HTTP

export interface Answer {
  readonly status: number
  readonly body: string
}

export const call = (agent: Agent, node: LocalNodeSpec, method: string, path: string, body?: Uint8Array | string, contentType = "application/json"): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: AUTH, "content-type": contentType }
    if (body !== undefined) headers["content-length"] = typeof body === "string" ? Buffer.byteLength(body) : body.length
    const req = request({ host: "127.0.0.1", port: node.apiPort, path, method, agent, headers }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })

export const recordsPath = (topic: string, p: number) => `/v1/log/topics/${topic}/partitions/${p}/records`

/** Waits until every node answers /ready. */
export const awaitReady = async (cluster: Cluster, timeoutMs: number): Promise<void> => {
  const agent = new Agent()
  const until = performance.now() + timeoutMs
  for (const node of cluster.nodes) {
    for (;;) {
      if (performance.now() > until) throw new Error(`${node.id} not ready after ${timeoutMs} ms; see ${cluster.logFile}`)
      const ok = await call(agent, node, "GET", "/ready").then((a) => a.status === 200, () => false)
      if (ok) break
      await sleep(200)
    }
  }
  agent.destroy()
}

/** Every node's fsyncs so far, from /metrics. */
export const fsyncCount = async (cluster: Cluster, agent: Agent): Promise<number> => {
  let total = 0
  for (const node of cluster.nodes) {
    const text = (await call(agent, node, "GET", "/metrics")).body
    const line = text.split("\n").find((l) => l.startsWith("cairn_disk_fsync_duration_seconds_count "))
    if (line === undefined) throw new Error(`${node.id}: no fsync count on /metrics`)
    total += Number(line.split(" ")[1])
  }
  return total
}

// ---------------------------------------------------------------------------
// Topics

/** A batch of `bytes` (within a few bytes): 1 KiB is one record, larger ones records of ~1 KiB. */
export const batchOf = (bytes: number): Uint8Array => {
  const count = Math.max(1, Math.round(bytes / KiB))
  const per = Math.floor((bytes - 61) / count) - 8
  const records: Array<LogRecord> = Array.from({ length: count }, (_, i) => ({
    attributes: 0, timestampDelta: 0, offsetDelta: i, key: null, value: new Uint8Array(per).fill(0x61 + (i % 26)), headers: []
  }))
  return encodeBatch({ baseTimestamp: Date.now(), records })
}

/** Retries an append to every partition of `topic` until each answers 200: their groups have leaders. */
export const warmUp = async (cluster: Cluster, topic: string, partitions: number): Promise<void> => {
  const agent = new Agent({ keepAlive: true })
  const batch = batchOf(KiB)
  const until = performance.now() + 60_000
  for (let p = 0; p < partitions; p++) {
    for (;;) {
      if (performance.now() > until) throw new Error(`${topic}/${p} takes no append after 60 s; see ${cluster.logFile}`)
      const a = await call(agent, cluster.nodes[p % cluster.size]!, "POST", recordsPath(topic, p), batch, RECORD_BATCH_CONTENT_TYPE).catch(() => undefined)
      if (a?.status === 200) break
      await sleep(100)
    }
  }
  agent.destroy()
}

/** Creates `name` with a replica on every node and waits until each partition takes an append. */
export const createTopic = async (cluster: Cluster, name: string, partitions: number): Promise<void> => {
  const agent = new Agent()
  const a = await call(agent, cluster.nodes[0]!, "POST", "/v1/log/topics", JSON.stringify({ name, partitions, replicationFactor: cluster.size }))
  agent.destroy()
  if (a.status !== 201) throw new Error(`create ${name}: ${a.status} ${a.body}`)
  await warmUp(cluster, name, partitions)
}
