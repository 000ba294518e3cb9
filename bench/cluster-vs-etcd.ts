/**
 * Real processes: a 3-node Cairn cluster (`cairn server` x3) next to a
 * 3-member etcd (Debian's etcd-server) started in the same run on loopback,
 * both driven by one closed-loop HTTP load generator. Used by
 * `npm run bench -- node` (part b) and `npm run bench -- raft` (real part).
 *
 * Method (docs/runtime-node.md, "Cluster vs etcd"):
 * - N clients, each a closed loop (send, wait for the answer, send the next)
 *   of PUTs of a 64-byte value to a random key out of `--keys`, over
 *   keep-alive node:http connections (one per client), after a warm-up.
 * - Cairn: `PUT /v1/kv/{key}` (raw body). etcd: `POST /v3/kv/put` on its
 *   HTTP/JSON gateway (base64 key and value). Both sent to the leader (found
 *   with `/v1/status` and `/v3/maintenance/status`) so neither pays a
 *   follower-forwarding hop.
 * - Both with their default durability: Cairn's WAL fdatasyncs every commit,
 *   etcd fsyncs its WAL (no --unsafe-no-fsync).
 * - Both clusters run during the whole measurement; at each client count
 *   Cairn is measured, then etcd, so that the background load of a shared
 *   machine hits both alike.
 * - Only 200s count as committed; every other answer and every network
 *   error is counted by kind, never silently dropped; a client that got an
 *   error waits 20 ms and goes on with a new key.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, type WriteStream } from "node:fs"
import { Agent, request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { apiHeaders, type ApiCredentials } from "@cairn/runtime-node/server/api-credentials"
import { clusterEnv, planCluster, serverArgs, spawnCairn, type LocalCluster } from "@cairn/runtime-node/server/local-cluster"
import { printTable, saveResult } from "./result.ts"
import { freeLoopbackPorts } from "../runtime-node/src/net/free-ports.ts"

type Row = Record<string, string | number | boolean | null>

const VALUE_BYTES = 64
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------
// Load generator (shared by both systems)

/** How one system takes a PUT over HTTP. */
export interface PutTarget {
  readonly system: string
  readonly port: number
  readonly method: "PUT" | "POST"
  readonly path: (key: string) => string
  readonly body: (key: string, value: Buffer) => Buffer
  readonly contentType: string
  /** Sent with every request (Cairn's credentials). */
  readonly headers?: Readonly<Record<string, string>>
}

export interface LoadResult {
  readonly clients: number
  readonly measuredMs: number
  /** 200 answers completed inside the measured window. */
  readonly ok: number
  /** Errors inside the measured window, by kind (`http-503`, `ECONNRESET`, `timeout`, ...). */
  readonly errors: Record<string, number>
  /** Errors during the warm-up (not in the figures, but reported). */
  readonly warmupErrors: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** CPU of the load generator's process during the window, in ms. */
  readonly loadGenCpuMs: number
}

const put = (agent: Agent, target: PutTarget, key: string, value: Buffer, timeoutMs: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const body = target.body(key, value)
    const req = request(
      {
        host: "127.0.0.1",
        port: target.port,
        method: target.method,
        path: target.path(key),
        agent,
        headers: { ...target.headers, "content-type": target.contentType, "content-length": body.length },
        timeout: timeoutMs
      },
      (res) => {
        res.on("data", () => {})
        res.on("end", () => resolve(res.statusCode ?? 0))
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.on("timeout", () => req.destroy(Object.assign(new Error("request timeout"), { code: "timeout" })))
    req.end(body)
  })

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

/** `clients` closed loops of PUTs for `warmupMs` + `durationMs`; figures cover the last `durationMs` only. */
export const runLoad = async (
  target: PutTarget,
  options: { readonly clients: number; readonly warmupMs: number; readonly durationMs: number; readonly keys: number }
): Promise<LoadResult> => {
  const agent = new Agent({ keepAlive: true, maxSockets: options.clients, maxFreeSockets: options.clients })
  const value = Buffer.alloc(VALUE_BYTES, "v")
  const latencies: Array<number> = []
  const errors: Record<string, number> = {}
  let warmupErrors = 0
  let ok = 0
  const start = performance.now()
  const measureFrom = start + options.warmupMs
  const end = measureFrom + options.durationMs
  let cpuAtMeasure: NodeJS.CpuUsage | undefined
  const cpuTimer = setTimeout(() => (cpuAtMeasure = process.cpuUsage()), options.warmupMs)
  const client = async () => {
    while (performance.now() < end) {
      const key = `k${Math.floor(Math.random() * options.keys).toString(16).padStart(8, "0")}`
      const t0 = performance.now()
      let kind: string | undefined
      try {
        const status = await put(agent, target, key, value, 30_000)
        if (status !== 200) kind = `http-${status}`
      } catch (e) {
        kind = (e as { code?: string }).code ?? (e as Error).message
      }
      const t1 = performance.now()
      if (kind === undefined) {
        if (t0 >= measureFrom && t1 <= end) latencies.push(t1 - t0)
        if (t1 >= measureFrom && t1 <= end) ok++
      } else {
        if (t1 >= measureFrom && t1 <= end) errors[kind] = (errors[kind] ?? 0) + 1
        else if (t1 < measureFrom) warmupErrors++
        await sleep(20)
      }
    }
  }
  await Promise.all(Array.from({ length: options.clients }, client))
  clearTimeout(cpuTimer)
  const cpu = process.cpuUsage(cpuAtMeasure)
  agent.destroy()
  latencies.sort((a, b) => a - b)
  return {
    clients: options.clients,
    measuredMs: options.durationMs,
    ok,
    errors,
    warmupErrors,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.length === 0 ? 0 : latencies[latencies.length - 1]!,
    loadGenCpuMs: (cpu.user + cpu.system) / 1000
  }
}

const cairnTarget = (credentials: ApiCredentials) => (port: number): PutTarget => ({
  system: "cairn",
  port,
  method: "PUT",
  path: (key) => `/v1/kv/${key}`,
  body: (_key, value) => value,
  contentType: "application/octet-stream",
  headers: apiHeaders(credentials)
})

const etcdTarget = (port: number): PutTarget => ({
  system: "etcd",
  port,
  method: "POST",
  path: () => "/v3/kv/put",
  body: (key, value) => Buffer.from(JSON.stringify({ key: Buffer.from(key).toString("base64"), value: value.toString("base64") })),
  contentType: "application/json"
})

// ---------------------------------------------------------------------------
// Processes


const httpJson = (port: number, method: string, path: string, body?: string, headers: Readonly<Record<string, string>> = {}): Promise<{ status: number; json: unknown }> =>
  new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, timeout: 2_000, headers: body === undefined ? headers : { ...headers, "content-type": "application/json" } }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => (text += c))
      res.on("end", () => {
        let json: unknown = undefined
        try {
          json = JSON.parse(text)
        } catch {
          json = text
        }
        resolve({ status: res.statusCode ?? 0, json })
      })
    })
    req.on("error", reject)
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.end(body)
  })

/** One started node: its process, its HTTP port and what it logged. */
interface Member {
  readonly name: string
  readonly child: ChildProcess
  readonly apiPort: number
  unexpectedExit: string | undefined
}

/** Everything started by this run, so that a failure or Ctrl-C stops it all. */
class Processes {
  readonly members: Array<Member> = []
  readonly logs: Array<WriteStream> = []
  stopping = false
  /** Holds each system's data dir and log; removed at the end, except the logs after a failure. */
  readonly runDir: string
  constructor(runDir: string) {
    this.runDir = runDir
  }

  track(name: string, child: ChildProcess, apiPort: number): Member {
    const m: Member = { name, child, apiPort, unexpectedExit: undefined }
    child.once("exit", (code, signal) => {
      if (!this.stopping) {
        m.unexpectedExit = `exit code ${code} signal ${signal}`
        process.stderr.write(`cluster-vs-etcd: ${name} exited unexpectedly (${m.unexpectedExit})\n`)
      }
    })
    this.members.push(m)
    return m
  }

  async stopAll(keepLogs: boolean): Promise<void> {
    this.stopping = true
    const alive = this.members.filter((m) => m.child.exitCode === null && m.child.signalCode === null)
    const exits = alive.map((m) => new Promise<void>((r) => m.child.once("exit", () => r())))
    for (const m of alive) m.child.kill("SIGTERM")
    const timer = setTimeout(() => alive.forEach((m) => m.child.kill("SIGKILL")), 10_000)
    await Promise.all(exits)
    clearTimeout(timer)
    await Promise.all(this.logs.map((l) => new Promise((r) => l.end(r))))
    for (const d of ["cairn", "etcd"]) rmSync(join(this.runDir, d), { recursive: true, force: true })
    if (keepLogs) process.stderr.write(`cluster-vs-etcd: the servers' logs are in ${this.runDir}\n`)
    else rmSync(this.runDir, { recursive: true, force: true })
  }
}

const logTail = (file: string, lines: number) => {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n")
  } catch {
    return "(no log)"
  }
}

/** The CPU time (user + system, ms) a process has used so far, from /proc. */
const cpuMsOf = (pid: number | undefined): number => {
  if (pid === undefined) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15, in clock ticks (100 Hz on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return 0
  }
}

interface System {
  readonly name: string
  readonly members: ReadonlyArray<Member>
  /** The leader's HTTP port, once one is known. */
  readonly leaderPort: () => Promise<number | undefined>
  readonly target: (port: number) => PutTarget
  readonly logFile: string
}

const startCairn = async (processes: Processes): Promise<System> => {
  const dir = join(processes.runDir, "cairn")
  const ports = await freeLoopbackPorts(9)
  const cluster: LocalCluster = planCluster({
    nodes: 3,
    dataRoot: dir,
    apiBase: 0,
    peerBase: 0,
    s3Base: 0,
    secret: `bench-secret-${Math.random().toString(36).slice(2)}-0123456789`,
    credentials: { accessKey: "bench", secretKey: "bench-secret-key" },
    ports
  })
  const logFile = join(processes.runDir, "cairn.log")
  const log = createWriteStream(logFile)
  processes.logs.push(log)
  const members = cluster.nodes.map((n) =>
    processes.track(
      `cairn ${n.id}`,
      spawnCairn(serverArgs(cluster, n, ["--log-level", "warn"]), clusterEnv(cluster), (line) => log.write(`[${n.id}] ${line}\n`)),
      n.apiPort
    )
  )
  return {
    name: "cairn",
    members,
    logFile,
    target: cairnTarget(cluster.credentials),
    leaderPort: async () => {
      for (const m of members) {
        const s = await httpJson(m.apiPort, "GET", "/v1/status", undefined, apiHeaders(cluster.credentials)).catch(() => undefined)
        if (s?.status === 200 && (s.json as { role?: string }).role === "leader") {
          const ready = await httpJson(m.apiPort, "GET", "/ready").catch(() => undefined)
          if (ready?.status === 200) return m.apiPort
        }
      }
      return undefined
    }
  }
}

const findEtcd = (): string | undefined =>
  ["/usr/bin/etcd", "/usr/local/bin/etcd", ...(process.env.PATH ?? "").split(":").map((p) => join(p, "etcd"))].find((p) => existsSync(p))

/** The etcd binary: found, or installed with apt-get when running as root; undefined (with a message) otherwise. */
export const ensureEtcd = (): string | undefined => {
  const found = findEtcd()
  if (found !== undefined) return found
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    process.stderr.write("cluster-vs-etcd: etcd not found; installing Debian's etcd-server (apt-get install -y etcd-server)\n")
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    let r = spawnSync("apt-get", ["install", "-y", "etcd-server"], { stdio: "inherit", env })
    if (r.status !== 0) {
      spawnSync("apt-get", ["update"], { stdio: "inherit", env })
      r = spawnSync("apt-get", ["install", "-y", "etcd-server"], { stdio: "inherit", env })
    }
    const installed = findEtcd()
    if (installed !== undefined) return installed
  }
  process.stderr.write(
    "cluster-vs-etcd: etcd is not installed, so only Cairn is measured. Install it with `sudo apt-get install etcd-server` " +
      "(Debian/Ubuntu; etcd 3.4) or put an `etcd` binary on PATH, then run again.\n"
  )
  return undefined
}

const startEtcd = async (processes: Processes, binary: string): Promise<System> => {
  const dir = join(processes.runDir, "etcd")
  const ports = await freeLoopbackPorts(6)
  const specs = [0, 1, 2].map((i) => ({ name: `e${i + 1}`, client: ports[2 * i]!, peer: ports[2 * i + 1]! }))
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(",")
  const token = `bench-${Math.random().toString(36).slice(2)}` // one per cluster: it seeds the cluster id
  const logFile = join(processes.runDir, "etcd.log")
  const log = createWriteStream(logFile)
  processes.logs.push(log)
  const members = specs.map((s) => {
    const child = spawn(
      binary,
      [
        "--name", s.name,
        "--data-dir", join(dir, s.name),
        "--listen-client-urls", `http://127.0.0.1:${s.client}`,
        "--advertise-client-urls", `http://127.0.0.1:${s.client}`,
        "--listen-peer-urls", `http://127.0.0.1:${s.peer}`,
        "--initial-advertise-peer-urls", `http://127.0.0.1:${s.peer}`,
        "--initial-cluster", initialCluster,
        "--initial-cluster-token", token,
        "--initial-cluster-state", "new",
        "--logger", "zap",
        "--log-level", "warn"
      ],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    child.stdout!.on("data", (c: Buffer) => log.write(`[${s.name}] ${c.toString()}`))
    child.stderr!.on("data", (c: Buffer) => log.write(`[${s.name}] ${c.toString()}`))
    return processes.track(`etcd ${s.name}`, child, s.client)
  })
  return {
    name: "etcd",
    members,
    logFile,
    target: etcdTarget,
    leaderPort: async () => {
      for (const m of members) {
        const s = await httpJson(m.apiPort, "POST", "/v3/maintenance/status", "{}").catch(() => undefined)
        const body = s?.json as { header?: { member_id?: string }; leader?: string } | undefined
        if (s?.status === 200 && body?.leader !== undefined && body.leader === body.header?.member_id) return m.apiPort
      }
      return undefined
    }
  }
}

const waitForLeader = async (system: System, timeoutMs: number): Promise<number> => {
  const until = performance.now() + timeoutMs
  while (performance.now() < until) {
    const dead = system.members.find((m) => m.unexpectedExit !== undefined)
    if (dead !== undefined) throw new Error(`${dead.name} exited (${dead.unexpectedExit}); log:\n${logTail(system.logFile, 30)}`)
    const port = await system.leaderPort()
    if (port !== undefined) {
      // One write must go through before measuring (the write path works, not only elections).
      const status = await put(new Agent(), system.target(port), "bench-probe", Buffer.alloc(VALUE_BYTES, "p"), 10_000).catch(() => 0)
      if (status === 200) return port
    }
    await sleep(250)
  }
  throw new Error(`${system.name}: no leader accepting writes after ${timeoutMs} ms; log:\n${logTail(system.logFile, 30)}`)
}

// ---------------------------------------------------------------------------
// The benchmark

export interface ClusterVsEtcdOptions {
  readonly clients: ReadonlyArray<number>
  readonly warmupMs: number
  readonly durationMs: number
  readonly keys: number
  readonly root: string
  readonly etcd: boolean
}

export const parseOptions = (args: ReadonlyArray<string>): ClusterVsEtcdOptions => {
  const arg = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  return {
    clients: (arg("--clients") ?? "1,16,256").split(",").map(Number),
    warmupMs: Number(arg("--warmup-seconds") ?? 2) * 1000,
    durationMs: Number(arg("--load-seconds") ?? 10) * 1000,
    keys: Number(arg("--keys") ?? 100_000),
    root: arg("--dir") ?? tmpdir(),
    etcd: !args.includes("--no-etcd")
  }
}

const rowOf = (system: string, r: LoadResult, serverCpuMs: number, baseline: LoadResult | undefined): Row => {
  const perSecond = r.ok / (r.measuredMs / 1000)
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0)
  return {
    clients: r.clients,
    system,
    "puts/s": Math.round(perSecond),
    "p50 ms": Number(r.p50Ms.toFixed(2)),
    "p99 ms": Number(r.p99Ms.toFixed(2)),
    "max ms": Number(r.maxMs.toFixed(1)),
    errors,
    "error kinds": errors === 0 ? "" : Object.entries(r.errors).map(([k, n]) => `${k}:${n}`).join(" "),
    "warm-up errors": r.warmupErrors,
    "x etcd": baseline === undefined ? null : Number((perSecond / Math.max(1, baseline.ok / (baseline.measuredMs / 1000))).toFixed(2)),
    // CPU of the 3 server processes together (all threads, from /proc; sampled around warm-up + window and
    // scaled to the window), per committed put and as cores busy.
    "server cpu us/put": r.ok === 0 ? null : Math.round((serverCpuMs * 1000) / r.ok),
    "server cores": Number((serverCpuMs / r.measuredMs).toFixed(2)),
    "loadgen cores": Number((r.loadGenCpuMs / r.measuredMs).toFixed(2))
  }
}

/** Starts both clusters, measures every client count on each, stops everything; returns the rows. */
export const runClusterVsEtcd = async (options: ClusterVsEtcdOptions): Promise<{ rows: Array<Row>; etcdVersion: string | null }> => {
  const processes = new Processes(mkdtempSync(join(options.root, "cairn-vs-etcd-")))
  let failed = false
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`cluster-vs-etcd: ${signal}, stopping the clusters\n`)
    void processes.stopAll(false).finally(() => process.exit(130))
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  try {
    const etcdBinary = options.etcd ? ensureEtcd() : undefined
    const etcdVersion =
      etcdBinary === undefined ? null : (spawnSync(etcdBinary, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "").replace("etcd Version: ", "")
    const systems: Array<System> = [await startCairn(processes)]
    if (etcdBinary !== undefined) systems.push(await startEtcd(processes, etcdBinary))
    const rows: Array<Row> = []
    for (const clients of options.clients) {
      const results = new Map<string, { r: LoadResult; cpuMs: number }>()
      for (const system of systems) {
        const port = await waitForLeader(system, 60_000)
        const cpuBefore = system.members.map((m) => cpuMsOf(m.child.pid))
        // Server CPU is sampled around the whole run; scaled to the measured window below.
        const r = await runLoad(system.target(port), { clients, warmupMs: options.warmupMs, durationMs: options.durationMs, keys: options.keys })
        const cpuMs = system.members.reduce((a, m, i) => a + cpuMsOf(m.child.pid) - cpuBefore[i]!, 0) * (options.durationMs / (options.durationMs + options.warmupMs))
        const dead = system.members.filter((m) => m.unexpectedExit !== undefined)
        if (dead.length > 0) throw new Error(`${dead.map((m) => m.name).join(", ")} exited during the load; log:\n${logTail(system.logFile, 40)}`)
        results.set(system.name, { r, cpuMs })
        process.stderr.write(`${system.name} x${clients}: ${Math.round(r.ok / (r.measuredMs / 1000))} puts/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, errors ${JSON.stringify(r.errors)}\n`)
      }
      const etcd = results.get("etcd")
      for (const [name, { r, cpuMs }] of results) rows.push(rowOf(name, r, cpuMs, name === "etcd" ? undefined : etcd?.r))
    }
    return { rows, etcdVersion }
  } catch (e) {
    failed = true
    throw e
  } finally {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    await processes.stopAll(failed)
  }
}

/** Runs the comparison, prints the table and saves it as `bench/results/<benchmark>-*.json`. */
export const clusterVsEtcdMain = async (benchmark: string, args: ReadonlyArray<string>): Promise<void> => {
  const options = parseOptions(args)
  const { rows, etcdVersion } = await runClusterVsEtcd(options)
  printTable(rows)
  const path = saveResult({
    benchmark,
    scenario:
      `Real processes on loopback, same run: a 3-node Cairn cluster (cairn server x3, default durability: the WAL fdatasyncs every commit) ` +
      `next to a 3-member etcd ${etcdVersion ?? "(not installed: Cairn only)"} (Debian's etcd-server, default durability: WAL fsync, no --unsafe-no-fsync), ` +
      `data dirs under ${options.root}. Load: ${options.clients.join("/")} closed-loop clients (one keep-alive node:http connection each, ` +
      `one load generator for both) doing PUTs of a ${VALUE_BYTES}-byte value to random keys out of ${options.keys}, ` +
      `${options.warmupMs / 1000} s warm-up then ${options.durationMs / 1000} s measured, sent to each system's leader: ` +
      `Cairn PUT /v1/kv/{key} (raw body), etcd POST /v3/kv/put on its HTTP/JSON gateway (base64 key and value in JSON; the gateway ` +
      `re-dispatches to etcd's gRPC server in-process). Only 200s count; errors are counted by kind. Both clusters run during the whole ` +
      `measurement; at each client count Cairn is measured, then etcd, so both see about the same background load. 'x etcd' = Cairn puts/s over etcd puts/s at the same client count. ` +
      `'server cpu us/put' = CPU of the 3 server processes per committed put; 'server cores'/'loadgen cores' = CPU busy during the window. ` +
      `Machine: 2 cores shared with other engineers' work and a simulator campaign (load average above the core count), so absolute numbers ` +
      `are noisy; compare the two systems within this run only.`,
    rows
  })
  process.stdout.write(`saved ${path}\n`)
}
