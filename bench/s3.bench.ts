/**
 * `npm run bench -- s3 [--duration-ms MS] [--nodes 1,3] [--sizes 4KiB,16MiB]
 * [--clients-small 1,16] [--clients-large 1,4] [--dir PATH] [--seq-mib N] [--cpu-prof DIR] [--node-down]`:
 * a warp-like S3 load generator against real `cairn server` processes on
 * loopback — one node, and a 3-node cluster storing with 2+1 erasure coding —
 * next to what the same disk does through node:fs, measured in the same run.
 *
 * Method (docs/s3.md, "Performance"):
 * - For each topology, object size and client count, warp's phases, each
 *   `--duration-ms` of closed loops (one per client: send, read the whole
 *   answer, send the next): put (new keys), get and stat (HEAD) of random
 *   keys the put phase created, list (ListObjectsV2 pages of ≤ 1000 keys over
 *   the put phase's prefix; small objects only, since a listing reads only
 *   metadata), mixed (45% get, 30% stat, 15% put, 10% delete over the pool of
 *   existing objects, like warp mixed; a key being read is never picked for
 *   deletion), then delete (the remaining objects, until the time is up or
 *   they run out).
 * - An op started before the deadline runs to its end; a phase's time runs
 *   from its start to its last op's end and its rates are counts over that
 *   time (so a phase of few 16 MiB ops is not rounded down to whole ops).
 *   Latency = request sent to answer fully read; GET bodies are streamed and
 *   checked byte for byte against what was put (each body starts with its
 *   key), never buffered.
 * - Each client has its own S3Client (AWS SDK v3) with its own keep-alive
 *   http.Agent and talks to one node: clients are spread round-robin over the
 *   nodes starting at the Raft leader (one client talks to the leader). No
 *   SDK retries (maxAttempts 1) and every error is counted by kind. The SDK
 *   signs payloads with SHA-256 (plain HTTP); its optional CRC32 checksums
 *   and `Expect: 100-continue` are off (warp sends neither). A client's put
 *   body is one Buffer reused for every put (its first 64 bytes are the key).
 * - Baseline, same run, same filesystem as the servers' data: a sequential
 *   write (4 MiB writes to a new file, then one fdatasync) in MiB/s, and 4 KiB
 *   write + fdatasync per op at successive offsets of a preallocated file
 *   (one writer) in ops/s, and new 256 KiB files each written and
 *   fdatasync'd (the pattern of shard writes) per second — at the start and
 *   after each topology, to show the noise; the median is what 'x disk'
 *   compares with. Published anchors
 *   from other systems are printed for context only.
 * - Per phase also: file fsyncs per op on all nodes (the servers' /metrics),
 *   CPU of the servers, of this process and of every other process on the
 *   machine (from /proc), the load average; at the end, the other processes
 *   that used CPU during the run, by command line.
 * - `--node-down`: after the healthy 3-node phases, one follower is SIGKILLed
 *   and the phases run again against the two left (degraded writes, ADR
 *   0012); each put rate is printed next to the healthy one of the same run
 *   and the aim (at least half of it).
 * - `--cpu-prof DIR`: the servers write V8 CPU profiles there when stopped
 *   (to find where their time goes; it slows them down a little).
 */
import { type ChildProcess } from "node:child_process"
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, type WriteStream } from "node:fs"
import { open } from "node:fs/promises"
import { Agent } from "node:http"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client
} from "@aws-sdk/client-s3"
import { apiHeaders } from "@cairn/runtime-node/server/api-credentials"
import { clusterEnv, serverArgs, spawnCairn, type LocalCluster, type LocalNodeSpec } from "@cairn/runtime-node/server/local-cluster"
import { freeLoopbackPorts } from "../runtime-node/src/net/free-ports.ts"
import { BENCH_CREDENTIALS, benchS3Client, planBenchCluster } from "./bench-cluster.ts"
import { printTable, saveResult } from "./result.ts"

type Row = Record<string, string | number | boolean | null>

const KiB = 1024
const MiB = 1024 * KiB
const BUCKET = "bench"
const STAMP = 64
const CREDENTIALS = BENCH_CREDENTIALS
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------
// Options

interface Options {
  readonly durationMs: number
  readonly topologies: ReadonlyArray<number>
  readonly sizes: ReadonlyArray<number>
  readonly clientsSmall: ReadonlyArray<number>
  readonly clientsLarge: ReadonlyArray<number>
  readonly root: string
  readonly seqBytes: number
  /** Where the servers write V8 CPU profiles (`--cpu-prof`), if asked. */
  readonly cpuProfDir: string | undefined
  /** Run the 3-node phases again with one follower killed. */
  readonly nodeDown: boolean
}

const parseSize = (s: string): number => {
  const m = /^(\d+)\s*(B|KiB|MiB)?$/i.exec(s.trim())
  if (m === null) throw new Error(`bad size "${s}" (e.g. 4KiB, 16MiB)`)
  const unit = (m[2] ?? "B").toLowerCase()
  return Number(m[1]) * (unit === "mib" ? MiB : unit === "kib" ? KiB : 1)
}

const sizeLabel = (bytes: number): string =>
  bytes % MiB === 0 ? `${bytes / MiB}MiB` : bytes % KiB === 0 ? `${bytes / KiB}KiB` : `${bytes}B`

/** Objects up to this size count as small: the small client counts and a list phase. */
const SMALL_MAX = 1 * MiB

const parseOptions = (args: ReadonlyArray<string>): Options => {
  const arg = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "")
  const numbers = (s: string) => list(s).map(Number)
  const options: Options = {
    durationMs: Number(arg("--duration-ms") ?? 2500),
    topologies: numbers(arg("--nodes") ?? "1,3"),
    sizes: list(arg("--sizes") ?? "4KiB,16MiB").map(parseSize),
    clientsSmall: numbers(arg("--clients-small") ?? "1,16"),
    clientsLarge: numbers(arg("--clients-large") ?? "1,4"),
    root: arg("--dir") ?? tmpdir(),
    seqBytes: Number(arg("--seq-mib") ?? 256) * MiB,
    cpuProfDir: arg("--cpu-prof"),
    nodeDown: args.includes("--node-down")
  }
  const bad = [options.durationMs, ...options.topologies, ...options.clientsSmall, ...options.clientsLarge, options.seqBytes].some(
    (n) => !Number.isInteger(n) || n <= 0
  )
  if (bad || options.topologies.some((n) => n !== 1 && n !== 3) || options.sizes.some((s) => s < STAMP)) {
    throw new Error("s3 bench: --duration-ms, --clients-* and --seq-mib take positive integers, --nodes 1 and/or 3, --sizes at least 64 B")
  }
  return options
}

// ---------------------------------------------------------------------------
// Baseline: the disk through node:fs

interface DiskBaseline {
  readonly seqWriteMiBps: number
  readonly syncWriteOpsPerSec: number
  /** New 256 KiB files (create, write, fdatasync, close) per second: the pattern of erasure-coded shard writes. */
  readonly shardFilesPerSec: number
  readonly load1: number
}

const diskBaseline = async (dir: string, seqBytes: number, syncMs: number): Promise<DiskBaseline> => {
  const load1 = loadavg()[0]!
  // Sequential: large writes to a new file, one fdatasync at the end (what a shard file write costs at best).
  const chunk = Buffer.alloc(4 * MiB, 0x5a)
  const seqPath = join(dir, "baseline-seq")
  const seq = await open(seqPath, "w")
  const t0 = performance.now()
  try {
    for (let written = 0; written < seqBytes; written += chunk.length) {
      await seq.write(chunk, 0, Math.min(chunk.length, seqBytes - written), written)
    }
    await seq.datasync()
  } finally {
    await seq.close()
  }
  const seqMs = performance.now() - t0
  rmSync(seqPath, { force: true })

  // Small durable writes: 4 KiB at successive offsets of a preallocated file, each followed by fdatasync.
  const region = 64 * MiB
  const syncPath = join(dir, "baseline-sync")
  const fh = await open(syncPath, "w+")
  let ops = 0
  let syncElapsed = 0
  try {
    for (let off = 0; off < region; off += chunk.length) await fh.write(chunk, 0, chunk.length, off)
    await fh.datasync()
    const record = Buffer.alloc(4 * KiB, 0x33)
    const start = performance.now()
    const until = start + syncMs
    while (performance.now() < until) {
      await fh.write(record, 0, record.length, (ops * record.length) % region)
      await fh.datasync()
      ops++
    }
    syncElapsed = performance.now() - start
  } finally {
    await fh.close()
    rmSync(syncPath, { force: true })
  }

  // New 256 KiB files, each written and fdatasync'd (no directory fsync): what each shard of a stripe costs at best.
  const shardDir = join(dir, "baseline-shards")
  mkdirSync(shardDir)
  const shard = Buffer.alloc(256 * KiB, 0x44)
  let files = 0
  const shardStart = performance.now()
  try {
    while (performance.now() < shardStart + syncMs) {
      const f = await open(join(shardDir, `s${files}`), "w")
      try {
        await f.write(shard, 0, shard.length, 0)
        await f.datasync()
      } finally {
        await f.close()
      }
      files++
    }
  } finally {
    rmSync(shardDir, { recursive: true, force: true })
  }
  const shardElapsed = performance.now() - shardStart
  return {
    seqWriteMiBps: seqBytes / MiB / (seqMs / 1000),
    syncWriteOpsPerSec: ops / (syncElapsed / 1000),
    shardFilesPerSec: files / (shardElapsed / 1000),
    load1
  }
}

// ---------------------------------------------------------------------------
// Processes

interface Member {
  readonly spec: LocalNodeSpec
  readonly child: ChildProcess
  exit: string | undefined
}

/** Every `cairn server` this run started, so that a failure, Ctrl-C or exit stops them all. */
const started = new Set<ChildProcess>()
let stopping = false

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null

const stopProcesses = async (children: ReadonlyArray<ChildProcess>): Promise<void> => {
  const running = children.filter(alive)
  const exits = running.map((c) => new Promise<void>((r) => c.once("exit", () => r())))
  for (const c of running) c.kill("SIGTERM")
  const timer = setTimeout(() => running.filter(alive).forEach((c) => c.kill("SIGKILL")), 10_000)
  await Promise.all(exits)
  clearTimeout(timer)
  for (const c of children) started.delete(c)
}

// Last resort (an uncaught error, process.exit): no child outlives the bench.
process.on("exit", () => {
  for (const c of started) if (alive(c)) c.kill("SIGKILL")
})

/** The CPU time (user + system, ms) a process has used so far, from /proc (clock ticks of 10 ms). */
const cpuMsOf = (pid: number | undefined): number => {
  if (pid === undefined) return 0
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

const logTail = (file: string, lines: number) => {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n")
  } catch {
    return "(no log)"
  }
}

interface RunningCluster {
  readonly size: number
  readonly members: ReadonlyArray<Member>
  readonly logFile: string
  readonly log: WriteStream
  /** Index in `members` of the Raft leader once known. */
  leader: number
  readonly serverCpuMs: () => number
  readonly checkAlive: () => void
}

const startCluster = async (runDir: string, size: number, cpuProfDir: string | undefined): Promise<RunningCluster> => {
  const ports = await freeLoopbackPorts(3 * size)
  const cluster: LocalCluster = planBenchCluster(runDir, size, ports, "s3")
  const logFile = join(runDir, `cluster-${size}.log`)
  const log = createWriteStream(logFile)
  const extra = ["--log-level", "warn", ...(size === 3 ? ["--ec", "2+1"] : [])]
  const profile = cpuProfDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(cpuProfDir, `cluster-${size}`)}` }
  const members = cluster.nodes.map((spec): Member => {
    const env = { ...clusterEnv(cluster), ...profile }
    const child = spawnCairn(serverArgs(cluster, spec, extra), env, (line) => log.write(`[${spec.id}] ${line}\n`))
    started.add(child)
    const m: Member = { spec, child, exit: undefined }
    child.once("exit", (code, signal) => {
      m.exit = `exit code ${code} signal ${signal}`
      if (!stopping) process.stderr.write(`s3 bench: cairn ${spec.id} exited unexpectedly (${m.exit})\n`)
    })
    return m
  })
  const running: RunningCluster = {
    size,
    members,
    logFile,
    log,
    leader: 0,
    serverCpuMs: () => members.reduce((a, m) => a + cpuMsOf(m.child.pid), 0),
    checkAlive: () => {
      const dead = members.find((m) => m.exit !== undefined)
      if (dead !== undefined) throw new Error(`cairn ${dead.spec.id} exited (${dead.exit}); log:\n${logTail(logFile, 40)}`)
    }
  }
  return running
}

/** SIGKILLs one follower and returns the cluster as its clients now see it: the members left. */
const killOneFollower = async (cluster: RunningCluster): Promise<RunningCluster> => {
  const leader = cluster.members[cluster.leader]!
  const victim = cluster.members.find((m) => m !== leader)!
  stopping = true
  try {
    const exit = new Promise<void>((r) => victim.child.once("exit", () => r()))
    victim.child.kill("SIGKILL")
    await exit
  } finally {
    stopping = false
  }
  const members = cluster.members.filter((m) => m !== victim)
  process.stderr.write(`${victim.spec.id} killed: ${cluster.size} nodes, one down\n`)
  return {
    ...cluster,
    members,
    leader: members.indexOf(leader),
    serverCpuMs: () => members.reduce((a, m) => a + cpuMsOf(m.child.pid), 0),
    checkAlive: () => {
      const dead = members.find((m) => m.exit !== undefined)
      if (dead !== undefined) throw new Error(`cairn ${dead.spec.id} exited (${dead.exit}); log:\n${logTail(cluster.logFile, 40)}`)
    }
  }
}

const stopCluster = async (cluster: RunningCluster): Promise<void> => {
  stopping = true
  try {
    await stopProcesses(cluster.members.map((m) => m.child))
  } finally {
    stopping = false
  }
  await new Promise((r) => cluster.log.end(r))
}

const statusOf = async (node: LocalNodeSpec): Promise<{ role?: string; leader?: string | null } | undefined> => {
  try {
    const r = await fetch(`http://127.0.0.1:${node.apiPort}/v1/status`, { headers: apiHeaders(CREDENTIALS), signal: AbortSignal.timeout(1000) })
    return r.status === 200 ? ((await r.json()) as { role?: string; leader?: string | null }) : undefined
  } catch {
    return undefined
  }
}

/** Waits until one node leads and every node knows it; records the leader. */
const awaitLeader = async (cluster: RunningCluster, timeoutMs: number): Promise<void> => {
  const until = performance.now() + timeoutMs
  while (performance.now() < until) {
    cluster.checkAlive()
    const all = await Promise.all(cluster.members.map((m) => statusOf(m.spec)))
    const leaders = all.flatMap((s, i) => (s?.role === "leader" ? [i] : []))
    if (leaders.length === 1) {
      const id = cluster.members[leaders[0]!]!.spec.id
      if (all.every((s) => s?.leader === id)) {
        cluster.leader = leaders[0]!
        return
      }
    }
    await sleep(100)
  }
  throw new Error(`no leader after ${timeoutMs} ms; log:\n${logTail(cluster.logFile, 40)}`)
}

/** Every node's file fsyncs so far (count, seconds), from `cairn_disk_fsync_duration_seconds` on /metrics; undefined if unreadable. */
const fsyncTotals = async (cluster: RunningCluster): Promise<{ count: number; seconds: number } | undefined> => {
  try {
    const texts = await Promise.all(
      cluster.members.map(async (m) => (await fetch(`http://127.0.0.1:${m.spec.apiPort}/metrics`, { headers: apiHeaders(CREDENTIALS), signal: AbortSignal.timeout(5000) })).text())
    )
    const sum = (name: string) =>
      texts.reduce((a, t) => {
        const line = t.split("\n").find((l) => l.startsWith(`${name} `))
        if (line === undefined) throw new Error(`${name} missing`)
        return a + Number(line.slice(name.length + 1))
      }, 0)
    return { count: sum("cairn_disk_fsync_duration_seconds_count"), seconds: sum("cairn_disk_fsync_duration_seconds_sum") }
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------
// Clients and operations

interface Worker {
  readonly index: number
  readonly node: number
  readonly agent: Agent
  readonly client: S3Client
  /** This client's put body (its first `size` bytes), reused for every put; its first STAMP bytes are the key being put. */
  readonly body: Buffer
  seq: number
}

const makeClient = (port: number, agent: Agent) =>
  benchS3Client(port, { httpAgent: agent, requestTimeout: 120_000 }, { expectContinueHeader: false })

/** The body every object of `size` bytes is made of, after its key stamp. */
const patternOf = (size: number): Buffer => {
  const b = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) b[i] = (i * 131 + (i >>> 12)) & 0xff
  return b
}

const stampOf = (key: string): Buffer => {
  const b = Buffer.alloc(STAMP, ".")
  if (b.write(key, "utf8") !== Buffer.byteLength(key)) throw new Error(`key longer than ${STAMP} bytes: ${key}`)
  return b
}

const makeWorkers = (cluster: RunningCluster, clients: number, pattern: Buffer): Array<Worker> =>
  Array.from({ length: clients }, (_, index) => {
    const node = (cluster.leader + index) % cluster.members.length
    const agent = new Agent({ keepAlive: true, maxSockets: 4 })
    return { index, node, agent, client: makeClient(cluster.members[node]!.spec.s3Port, agent), body: Buffer.from(pattern), seq: 0 }
  })

const closeWorkers = (workers: ReadonlyArray<Worker>) => {
  for (const w of workers) {
    w.client.destroy()
    w.agent.destroy()
  }
}

type OpName = "put" | "get" | "stat" | "delete" | "list"

interface Outcome {
  readonly op: OpName
  /** Body bytes moved (puts and gets). */
  readonly bytes: number
  /** Objects touched: 1, or the keys a list page returned. */
  readonly objects: number
  readonly error: string | undefined
  /** The error's message, if any (the first one of each kind is kept in the JSON). */
  readonly message?: string
}

const errorKind = (e: unknown): string => {
  const x = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } }
  const status = x.$metadata?.httpStatusCode
  if (status !== undefined) return `${x.name ?? "error"}/${status}`
  return x.code ?? x.name ?? String(e)
}

const attempt = async (op: OpName, f: () => Promise<{ bytes: number; objects: number; error?: string }>): Promise<Outcome> => {
  try {
    const r = await f()
    return { op, bytes: r.bytes, objects: r.objects, error: r.error }
  } catch (e) {
    return { op, bytes: 0, objects: 0, error: errorKind(e), message: e instanceof Error ? e.message : String(e) }
  }
}

/** Streams a GET body and checks it is the key's stamp then the pattern; returns the bytes read and what was wrong. */
const drainAndCheck = async (body: unknown, key: string, size: number, pattern: Buffer): Promise<{ bytes: number; error?: string }> => {
  if (typeof body !== "object" || body === null || !(Symbol.asyncIterator in body)) return { bytes: 0, error: "no-body" }
  const stamp = stampOf(key)
  let offset = 0
  let wrong = false
  for await (const piece of body as AsyncIterable<Uint8Array>) {
    const c = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
    if (!wrong && offset + c.length <= size) {
      let i = 0
      while (i < c.length && !wrong) {
        const at = offset + i
        const n = at < STAMP ? Math.min(STAMP - at, c.length - i) : c.length - i
        const expected = at < STAMP ? stamp.subarray(at, at + n) : pattern.subarray(at, at + n)
        if (!c.subarray(i, i + n).equals(expected)) wrong = true
        i += n
      }
    }
    offset += c.length
  }
  if (offset !== size) return { bytes: offset, error: offset < size ? "short-body" : "long-body" }
  return wrong ? { bytes: offset, error: "wrong-bytes" } : { bytes: offset }
}

const putObject = (w: Worker, key: string, size: number) =>
  attempt("put", async () => {
    stampOf(key).copy(w.body, 0)
    await w.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: w.body.subarray(0, size), ContentLength: size }))
    return { bytes: size, objects: 1 }
  })

const getObject = (w: Worker, key: string, size: number, pattern: Buffer) =>
  attempt("get", async () => {
    const r = await w.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
    const checked = await drainAndCheck(r.Body, key, size, pattern)
    return { ...checked, objects: 1 }
  })

const statObject = (w: Worker, key: string, size: number) =>
  attempt("stat", async () => {
    const r = await w.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))
    return r.ContentLength === size ? { bytes: 0, objects: 1 } : { bytes: 0, objects: 1, error: "wrong-size" }
  })

const deleteObject = (w: Worker, key: string) =>
  attempt("delete", async () => {
    await w.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }))
    return { bytes: 0, objects: 1 }
  })

const listPage = (w: Worker, prefix: string, token: string | undefined, onNext: (token: string | undefined) => void) =>
  attempt("list", async () => {
    const r = await w.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }))
    onNext(r.IsTruncated === true ? r.NextContinuationToken : undefined)
    return { bytes: 0, objects: r.KeyCount ?? 0 }
  })

// ---------------------------------------------------------------------------
// Other processes

interface ProcessSample {
  readonly cpuMs: number
  /** When the process started (clock ticks since boot): with the pid, tells a reused pid from the same process. */
  readonly startTicks: string
  readonly command: string
}

/** CPU time (ms), start time and command line of every process, from /proc, to tell what else ran during the benchmark. */
const processSnapshot = (): Map<number, ProcessSample> => {
  const snapshot = new Map<number, ProcessSample>()
  let pids: Array<string> = []
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d))
  } catch {
    return snapshot
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim()
      // Kernel threads have no command line; their name without the work item ("kworker/0:0-events" -> "kworker/0:0").
      const command = cmdline === "" ? `[${stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/-.*$/, "")}]` : cmdline
      snapshot.set(Number(pid), { cpuMs: (Number(fields[11]) + Number(fields[12])) * 10, startTicks: fields[19] ?? "", command })
    } catch {
      // gone meanwhile
    }
  }
  return snapshot
}

/** A command line with every path cut to its last two parts, at most 160 characters. */
const shortCommand = (command: string): string =>
  command
    .split(" ")
    .map((a) => (a.includes("/") ? a.split("/").slice(-2).join("/") : a))
    .join(" ")
    .slice(0, 160)

/**
 * The CPU other processes use while the benchmark runs: /proc sampled every
 * 2 s, deltas summed by command line (a process that started since the last
 * sample counts with all its CPU; one that lived less than 2 s may be missed).
 */
const monitorOtherProcesses = (ours: ReadonlySet<number>) => {
  const byCommand = new Map<string, number>()
  const since = performance.now()
  let last = processSnapshot()
  const sample = () => {
    const now = processSnapshot()
    for (const [pid, p] of now) {
      if (ours.has(pid)) continue
      const prev = last.get(pid)
      const delta = prev === undefined || prev.startTicks !== p.startTicks ? p.cpuMs : p.cpuMs - prev.cpuMs
      if (delta > 0) byCommand.set(p.command, (byCommand.get(p.command) ?? 0) + delta)
    }
    last = now
  }
  const timer = setInterval(sample, 2000)
  timer.unref()
  return {
    /** Stops sampling; the commands that used at least 0.05 cores on average, busiest first. */
    stop: (): Array<{ readonly cores: number; readonly command: string }> => {
      clearInterval(timer)
      sample()
      const elapsed = performance.now() - since
      return [...byCommand]
        .map(([command, ms]) => ({ cores: Number((ms / elapsed).toFixed(2)), command: shortCommand(command) }))
        .filter((p) => p.cores >= 0.05)
        .sort((a, b) => b.cores - a.cores)
    }
  }
}

/** The CPU (ms) other processes used between two snapshots; one that started meanwhile counts with all its CPU, one that ended is missed. */
const otherCpuMs = (before: ReadonlyMap<number, ProcessSample>, after: ReadonlyMap<number, ProcessSample>): number => {
  const ours = new Set([process.pid, ...[...started].map((c) => c.pid)])
  let ms = 0
  for (const [pid, p] of after) {
    if (ours.has(pid)) continue
    const prev = before.get(pid)
    ms += prev === undefined || prev.startTicks !== p.startTicks ? p.cpuMs : p.cpuMs - prev.cpuMs
  }
  return ms
}

// ---------------------------------------------------------------------------
// Phases

interface PhaseResult {
  readonly ops: number
  readonly objects: number
  readonly bytes: number
  readonly elapsedMs: number
  readonly latencies: ReadonlyArray<number>
  readonly byOp: ReadonlyMap<OpName, ReadonlyArray<number>>
  readonly errors: Readonly<Record<string, number>>
  /** The first message of each error kind. */
  readonly errorMessages: Readonly<Record<string, string>>
  readonly serverCpuMs: number
  readonly loadgenCpuMs: number
  /** CPU other processes on the machine used during the phase. */
  readonly otherCpuMs: number
  readonly load1: number
  /** File fsyncs on all nodes during the phase (count, seconds), if /metrics could be read. */
  readonly fsyncs: { readonly count: number; readonly seconds: number } | undefined
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

/**
 * Closed loops, one per worker, for `durationMs`: `step` does one op (it never
 * throws) or returns undefined when there is nothing left to do.
 */
const runPhase = async (
  cluster: RunningCluster,
  workers: ReadonlyArray<Worker>,
  durationMs: number,
  step: (w: Worker) => Promise<Outcome | undefined>
): Promise<PhaseResult> => {
  const load1 = loadavg()[0]!
  const fsyncs0 = await fsyncTotals(cluster)
  const processes0 = processSnapshot()
  const cpu0 = process.cpuUsage()
  const server0 = cluster.serverCpuMs()
  const latencies: Array<number> = []
  const byOp = new Map<OpName, Array<number>>()
  const errors: Record<string, number> = {}
  const errorMessages: Record<string, string> = {}
  let ops = 0
  let objects = 0
  let bytes = 0
  const start = performance.now()
  const deadline = start + durationMs
  let last = start
  await Promise.all(
    workers.map(async (w) => {
      while (performance.now() < deadline) {
        const t0 = performance.now()
        const r = await step(w)
        if (r === undefined) return
        const t1 = performance.now()
        last = Math.max(last, t1)
        if (r.error === undefined) {
          ops++
          objects += r.objects
          bytes += r.bytes
          latencies.push(t1 - t0)
          const list = byOp.get(r.op) ?? []
          list.push(t1 - t0)
          byOp.set(r.op, list)
        } else {
          const kind = `${r.op}:${r.error}`
          errors[kind] = (errors[kind] ?? 0) + 1
          errorMessages[kind] ??= r.message ?? r.error
          await sleep(20)
        }
      }
    })
  )
  const elapsedMs = Math.max(1, last - start)
  const cpu = process.cpuUsage(cpu0)
  const serverCpuMs = cluster.serverCpuMs() - server0
  cluster.checkAlive()
  const otherMs = otherCpuMs(processes0, processSnapshot())
  const fsyncs1 = await fsyncTotals(cluster)
  latencies.sort((a, b) => a - b)
  for (const l of byOp.values()) l.sort((a, b) => a - b)
  return {
    ops,
    objects,
    bytes,
    elapsedMs,
    latencies,
    byOp,
    errors,
    errorMessages,
    serverCpuMs,
    loadgenCpuMs: (cpu.user + cpu.system) / 1000,
    otherCpuMs: otherMs,
    load1,
    fsyncs: fsyncs0 === undefined || fsyncs1 === undefined ? undefined : { count: fsyncs1.count - fsyncs0.count, seconds: fsyncs1.seconds - fsyncs0.seconds }
  }
}

/** The keys of existing objects: random picks, removal in O(1), and in-flight readers (never deleted under them). */
class KeyPool {
  readonly keys: Array<string>
  private readonly at = new Map<string, number>()
  private readonly readers = new Map<string, number>()
  constructor(keys: ReadonlyArray<string>) {
    this.keys = [...keys]
    this.keys.forEach((k, i) => this.at.set(k, i))
  }
  get size() {
    return this.keys.length
  }
  add(key: string) {
    this.at.set(key, this.keys.length)
    this.keys.push(key)
  }
  random(): string | undefined {
    return this.keys.length === 0 ? undefined : this.keys[Math.floor(Math.random() * this.keys.length)]
  }
  async reading<A>(key: string, f: () => Promise<A>): Promise<A> {
    this.readers.set(key, (this.readers.get(key) ?? 0) + 1)
    try {
      return await f()
    } finally {
      const n = this.readers.get(key)! - 1
      if (n === 0) this.readers.delete(key)
      else this.readers.set(key, n)
    }
  }
  /** Takes a random key nobody is reading out of the pool (a few tries), or undefined. */
  takeUnread(): string | undefined {
    for (let i = 0; i < 8; i++) {
      const key = this.random()
      if (key !== undefined && !this.readers.has(key)) {
        this.remove(key)
        return key
      }
    }
    return undefined
  }
  private remove(key: string) {
    const i = this.at.get(key)!
    const lastKey = this.keys.pop()!
    if (lastKey !== key) {
      this.keys[i] = lastKey
      this.at.set(lastKey, i)
    }
    this.at.delete(key)
  }
}

const MIX = { get: 0.45, stat: 0.3, put: 0.15, delete: 0.1 } as const

interface PhaseRow {
  readonly op: string
  readonly result: PhaseResult
}

/** All phases for one object size and client count on a running cluster. */
const runConfig = async (cluster: RunningCluster, size: number, clients: number, durationMs: number, pattern: Buffer): Promise<Array<PhaseRow>> => {
  const workers = makeWorkers(cluster, clients, pattern)
  const base = `${sizeLabel(size)}-c${clients}`
  const rows: Array<PhaseRow> = []
  const phase = async (op: string, step: (w: Worker) => Promise<Outcome | undefined>) => {
    const result = await runPhase(cluster, workers, durationMs, step)
    rows.push({ op, result })
    const s = result.elapsedMs / 1000
    process.stderr.write(
      `  ${cluster.size} node(s) ${sizeLabel(size)} x${clients} ${op}: ${(result.ops / s).toFixed(1)} ops/s, ` +
        `${(result.bytes / MiB / s).toFixed(1)} MiB/s, p50 ${percentile(result.latencies, 0.5).toFixed(1)} ms, ` +
        `p99 ${percentile(result.latencies, 0.99).toFixed(1)} ms, errors ${JSON.stringify(result.errors)}\n`
    )
  }
  try {
    const created: Array<string> = []
    const newKey = (w: Worker, tag: string) => `${base}/w${w.index}/${tag}${String(w.seq++).padStart(7, "0")}`
    await phase("put", async (w) => {
      const key = newKey(w, "p")
      const r = await putObject(w, key, size)
      if (r.error === undefined) created.push(key)
      return r
    })
    const pick = () => created[Math.floor(Math.random() * created.length)]
    await phase("get", async (w) => {
      const key = pick()
      return key === undefined ? undefined : getObject(w, key, size, pattern)
    })
    await phase("stat", async (w) => {
      const key = pick()
      return key === undefined ? undefined : statObject(w, key, size)
    })
    if (size <= SMALL_MAX) {
      const tokens = new Map<number, string | undefined>()
      await phase("list", (w) => listPage(w, `${base}/`, tokens.get(w.index), (t) => tokens.set(w.index, t)))
    }
    const pool = new KeyPool(created)
    await phase("mixed", async (w) => {
      const r = Math.random()
      if (r < MIX.get + MIX.stat) {
        const key = pool.random()
        if (key === undefined) return putMixed(w)
        return pool.reading(key, () => (r < MIX.get ? getObject(w, key, size, pattern) : statObject(w, key, size)))
      }
      if (r < MIX.get + MIX.stat + MIX.put || pool.size <= workers.length) return putMixed(w)
      const key = pool.takeUnread()
      return key === undefined ? putMixed(w) : deleteObject(w, key)
    })
    async function putMixed(w: Worker): Promise<Outcome> {
      const key = newKey(w, "m")
      const r = await putObject(w, key, size)
      if (r.error === undefined) pool.add(key)
      return r
    }
    const remaining = [...pool.keys].sort(() => Math.random() - 0.5)
    await phase("delete", async (w) => {
      const key = remaining.pop()
      return key === undefined ? undefined : deleteObject(w, key)
    })
    // Whatever the delete phase did not reach is removed unmeasured, so that the next configuration starts from the same disk.
    await Promise.all(
      workers.map(async (w) => {
        for (let key = remaining.pop(); key !== undefined; key = remaining.pop()) await deleteObject(w, key)
      })
    )
  } finally {
    closeWorkers(workers)
  }
  return rows
}

/** Creates the bucket (retried while the cluster settles) and runs each op once through every node, unmeasured. */
const prepare = async (cluster: RunningCluster, sizes: ReadonlyArray<number>): Promise<void> => {
  const pattern = patternOf(Math.max(...sizes))
  const workers = makeWorkers(cluster, cluster.members.length, pattern)
  try {
    const until = performance.now() + 30_000
    for (;;) {
      const r = await attempt("put", async () => {
        await workers[0]!.client.send(new CreateBucketCommand({ Bucket: BUCKET }))
        return { bytes: 0, objects: 0 }
      })
      if (r.error === undefined) break
      if (performance.now() > until) throw new Error(`CreateBucket kept failing: ${r.error}; log:\n${logTail(cluster.logFile, 40)}`)
      cluster.checkAlive()
      await sleep(200)
    }
    for (const w of workers) {
      for (const size of sizes) {
        const key = `warmup/${w.index}-${sizeLabel(size)}`
        for (const r of [
          await putObject(w, key, size),
          await getObject(w, key, size, pattern),
          await statObject(w, key, size),
          await deleteObject(w, key)
        ]) {
          if (r.error !== undefined) throw new Error(`warm-up ${r.op} of ${key} through ${cluster.members[w.node]!.spec.id} failed: ${r.error}`)
        }
      }
    }
  } finally {
    closeWorkers(workers)
  }
}

// ---------------------------------------------------------------------------
// The benchmark

/** For every 3-node put measured with one node down, the healthy put of the same size and clients beside it. */
const nodeDownAims = (rows: ReadonlyArray<Row>) =>
  rows
    .filter((r) => r["nodes"] === 3 && r["down"] === 1 && r["op"] === "put")
    .flatMap((r) => {
      const healthy = rows.find((h) => h["nodes"] === 3 && h["down"] === 0 && h["op"] === "put" && h["size"] === r["size"] && h["clients"] === r["clients"])
      if (healthy === undefined) return []
      const ratio = Number(r["ops/s"]) / Number(healthy["ops/s"])
      return [{ size: String(r["size"]), clients: Number(r["clients"]), healthy: Number(healthy["ops/s"]), down: Number(r["ops/s"]), ratio, met: ratio >= 0.5 }]
    })

const ANCHORS = [
  "MinIO, one node on localhost: ~756 PUT/s of 4 KiB objects with one client thread",
  "Garage: ~2,877 object creations/s of 1 KiB objects with 16 clients, on a laptop",
  "SeaweedFS: ~4,572 object creations/s of 1 KiB objects with 16 clients, on a laptop"
] as const

const rowOf = (nodes: number, down: number, size: number, clients: number, p: PhaseRow, disk: DiskBaseline): Row => {
  const r = p.result
  const s = r.elapsedMs / 1000
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0)
  const mibps = r.bytes / MiB / s
  const opsps = r.ops / s
  // Against the disk: a small put against one 4 KiB write+fdatasync; a large put against the sequential write.
  const xDisk = p.op !== "put" ? null : size <= SMALL_MAX ? opsps / disk.syncWriteOpsPerSec : mibps / disk.seqWriteMiBps
  const detail = [...r.byOp].map(([op, l]) => `${op} ${l.length} p50 ${percentile(l, 0.5).toFixed(1)} p99 ${percentile(l, 0.99).toFixed(1)}`).join("; ")
  return {
    nodes,
    down,
    size: sizeLabel(size),
    clients,
    op: p.op,
    "ops/s": Number(opsps.toFixed(1)),
    "objects/s": Number((r.objects / s).toFixed(1)),
    "MiB/s": r.bytes === 0 ? null : Number(mibps.toFixed(1)),
    "p50 ms": Number(percentile(r.latencies, 0.5).toFixed(1)),
    "p99 ms": Number(percentile(r.latencies, 0.99).toFixed(1)),
    ops: r.ops,
    errors,
    "x disk": xDisk === null ? null : Number(xDisk.toFixed(2)),
    "fsyncs/op": r.fsyncs === undefined || r.ops === 0 ? null : Number((r.fsyncs.count / r.ops).toFixed(1)),
    "fsync ms": r.fsyncs === undefined || r.fsyncs.count === 0 ? null : Number(((r.fsyncs.seconds * 1000) / r.fsyncs.count).toFixed(2)),
    "server cores": Number((r.serverCpuMs / r.elapsedMs).toFixed(2)),
    "loadgen cores": Number((r.loadgenCpuMs / r.elapsedMs).toFixed(2)),
    "other cores": Number((r.otherCpuMs / r.elapsedMs).toFixed(2)),
    load1: Number(r.load1.toFixed(1)),
    // In the JSON only:
    "elapsed ms": Math.round(r.elapsedMs),
    "error kinds": Object.entries(r.errors).map(([k, n]) => `${k} x${n} (${r.errorMessages[k] ?? ""})`).join("; "),
    "latency by op": detail
  }
}

const PRINTED = ["nodes", "down", "size", "clients", "op", "ops/s", "objects/s", "MiB/s", "p50 ms", "p99 ms", "ops", "errors", "x disk", "fsyncs/op", "fsync ms", "server cores", "loadgen cores", "other cores", "load1"]

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export async function main(args: ReadonlyArray<string>): Promise<void> {
  const options = parseOptions(args)
  const runDir = mkdtempSync(join(options.root, "cairn-s3-bench-"))
  const clusters: Array<RunningCluster> = []
  const ourPids = new Set<number>([process.pid])
  let failed = false
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`s3 bench: ${signal}, stopping the servers\n`)
    stopping = true
    void stopProcesses([...started]).finally(() => {
      rmSync(runDir, { recursive: true, force: true })
      process.exit(130)
    })
  }
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  const runStart = performance.now()
  const loadBefore = loadavg()
  const monitor = monitorOtherProcesses(ourPids)
  const rows: Array<Row> = []
  const baselines: Array<{ readonly when: string; readonly disk: DiskBaseline }> = []
  const measureDisk = async (when: string) => {
    const disk = await diskBaseline(runDir, options.seqBytes, 1500)
    baselines.push({ when, disk })
    process.stderr.write(
      `disk baseline (${when}): sequential write ${disk.seqWriteMiBps.toFixed(0)} MiB/s, 4 KiB write+fdatasync ${disk.syncWriteOpsPerSec.toFixed(0)} ops/s, ` +
        `new 256 KiB file+fdatasync ${disk.shardFilesPerSec.toFixed(0)}/s\n`
    )
  }
  try {
    process.stderr.write(`s3 bench in ${runDir}; load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}\n`)
    await measureDisk("start")
    const measured: Array<{ nodes: number; down: number; size: number; clients: number; phases: Array<PhaseRow> }> = []
    for (const nodes of options.topologies) {
      const cluster = await startCluster(runDir, nodes, options.cpuProfDir)
      clusters.push(cluster)
      for (const m of cluster.members) if (m.child.pid !== undefined) ourPids.add(m.child.pid)
      await awaitLeader(cluster, 60_000)
      await prepare(cluster, options.sizes)
      process.stderr.write(`${nodes} node(s) up, leader ${cluster.members[cluster.leader]!.spec.id}\n`)
      for (const size of options.sizes) {
        const pattern = patternOf(size)
        for (const clients of size <= SMALL_MAX ? options.clientsSmall : options.clientsLarge) {
          measured.push({ nodes, down: 0, size, clients, phases: await runConfig(cluster, size, clients, options.durationMs, pattern) })
        }
      }
      if (nodes === 3 && options.nodeDown) {
        const degraded = await killOneFollower(cluster)
        for (const size of options.sizes) {
          const pattern = patternOf(size)
          for (const clients of size <= SMALL_MAX ? options.clientsSmall : options.clientsLarge) {
            measured.push({ nodes, down: 1, size, clients, phases: await runConfig(degraded, size, clients, options.durationMs, pattern) })
          }
        }
      }
      clusters.pop()
      await stopCluster(cluster)
      rmSync(join(runDir, `cluster-${nodes}`), { recursive: true, force: true })
      await measureDisk(`after ${nodes} node${nodes === 1 ? "" : "s"}`)
    }
    const disk: DiskBaseline = {
      seqWriteMiBps: median(baselines.map((b) => b.disk.seqWriteMiBps)),
      syncWriteOpsPerSec: median(baselines.map((b) => b.disk.syncWriteOpsPerSec)),
      shardFilesPerSec: median(baselines.map((b) => b.disk.shardFilesPerSec)),
      load1: median(baselines.map((b) => b.disk.load1))
    }
    for (const m of measured) for (const p of m.phases) rows.push(rowOf(m.nodes, m.down, m.size, m.clients, p, disk))
  } catch (e) {
    failed = true
    throw e
  } finally {
    if (failed) monitor.stop()
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    stopping = true
    await Promise.all(clusters.map(stopCluster))
    await stopProcesses([...started])
    if (failed) {
      // Keep the logs, not the data.
      for (const nodes of options.topologies) rmSync(join(runDir, `cluster-${nodes}`), { recursive: true, force: true })
      process.stderr.write(`s3 bench: the servers' logs are in ${runDir}\n`)
    } else rmSync(runDir, { recursive: true, force: true })
  }

  const totalMs = performance.now() - runStart
  const loadAfter = loadavg()
  const others = monitor.stop()
  printTable(rows.map((r) => Object.fromEntries(PRINTED.map((c) => [c, r[c] ?? null]))))
  const baselineRows: Array<Row> = baselines.map(({ when, disk }) => ({
    when,
    "seq write MiB/s": Math.round(disk.seqWriteMiBps),
    "4 KiB write+fdatasync ops/s": Math.round(disk.syncWriteOpsPerSec),
    "new 256 KiB file+fdatasync /s": Math.round(disk.shardFilesPerSec),
    load1: Number(disk.load1.toFixed(1))
  }))
  const degradedAims = nodeDownAims(rows)
  if (degradedAims.length > 0) {
    process.stdout.write(`\naim: a put with one node down at least half the healthy rate (3 nodes, same run):\n`)
    for (const a of degradedAims) process.stdout.write(`  ${a.size} x${a.clients}: ${a.down} vs ${a.healthy} ops/s = ${a.ratio.toFixed(2)} (aim >= 0.50: ${a.met ? "met" : "NOT met"})\n`)
  }
  process.stdout.write(`\nbaseline, measured in this run on the data directory's filesystem (node:fs; 'x disk' uses the median):\n`)
  printTable(baselineRows)
  process.stdout.write(`\npublished anchors, NOT measured here (other machines, other settings; for context only):\n`)
  for (const a of ANCHORS) process.stdout.write(`  - ${a}\n`)
  process.stdout.write(
    `\nload average (1/5/15 min) before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}; ` +
      `${(totalMs / 1000).toFixed(0)} s in all. Other processes using CPU meanwhile (cores, averaged over the run, by command line):\n` +
      (others.length === 0 ? "  (none above 0.05)\n" : others.slice(0, 8).map((o) => `  ${o.cores.toFixed(2)}  ${o.command}\n`).join("")) +
      `'x disk': put objects/s over the 4 KiB write+fdatasync rate (small objects), put MiB/s over the sequential write rate (large); ` +
      `'fsyncs/op': file fsyncs on all nodes per op (from /metrics; directory syncs not counted), 'fsync ms': their mean duration; ` +
      `'server cores'/'loadgen cores'/'other cores': CPU busy during the phase (servers: all of their processes; other: every other process on the machine)\n`
  )
  const result = {
    benchmark: "s3",
    scenario:
      `Real cairn server processes on loopback, one node (no erasure scheme: bodies stored once) and 3 nodes (--ec 2+1), ` +
      `default durability, data under ${options.root}. Warp-like closed-loop phases of ${options.durationMs} ms each: put, get, stat (HEAD), ` +
      `list (ListObjectsV2 pages of <= 1000 keys under the put phase's prefix; objects <= 1 MiB only), mixed (45% get, 30% stat, 15% put, 10% delete), ` +
      `delete; objects of ${options.sizes.map(sizeLabel).join(", ")}; ${options.clientsSmall.join("/")} clients for small objects, ` +
      `${options.clientsLarge.join("/")} for large. One AWS SDK v3 S3Client and keep-alive http.Agent per client, clients spread over the nodes ` +
      `starting at the leader, maxAttempts 1, SHA-256 payload signing, no CRC checksums, no Expect: 100-continue; GET bodies streamed and checked. ` +
      `Rates are counts over the time from a phase's start to its last op's end. Baseline on the same filesystem, measured at the start and after each topology ` +
      `('x disk' uses the median): sequential write of ${options.seqBytes / MiB} MiB in 4 MiB writes + one fdatasync, and 4 KiB write + fdatasync per op ` +
      `(one writer, preallocated file), and new 256 KiB files each written + fdatasync'd (no directory fsync). Machine: shared; see load1 and 'other cores' per phase and otherProcesses.`,
    rows,
    nodeDownAims: degradedAims,
    baseline: baselineRows,
    anchorsNotMeasured: [...ANCHORS],
    loadAverage: { before: loadBefore, after: loadAfter },
    otherProcesses: others,
    totalSeconds: Math.round(totalMs / 1000)
  }
  const path = saveResult(result)
  process.stdout.write(`saved ${path}\n`)
}
