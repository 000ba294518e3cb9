/**
 * `npm run bench -- overload [--multiple M] [--baseline-seconds S] [--overload-seconds S]
 * [--connections N] [--slow-clients N] [--clients N] [--tenants N] [--rss-bound-mib B]`:
 * one `cairn server` (default overload limits) driven far past the rate it
 * sustains, over the KV API with 4 KiB values. Not in CI.
 *
 * 1. Baseline: `--clients` (512, the default --max-inflight-requests)
 *    closed-loop clients PUT unique keys for `--baseline-seconds`; their
 *    acknowledged rate is the sustainable rate R. The clients are
 *    `--tenants` S3 users (access keys, created first), so the listener's
 *    limits shed, not the per-client ones.
 * 2. Overload for `--overload-seconds`: an open loop offers M×R PUTs/s
 *    (each a new key; the generator caps its own outstanding requests and
 *    reports the rate it really offered), while `--connections` keep-alive
 *    connections stay open (each sends a /health every 20 s, within the
 *    idle timeout), `--slow-clients` send their headers one byte a second
 *    (slowloris) and as many send a 4 KiB body one byte a second.
 * 3. Throughout: `/health` on a fresh connection every 250 ms from a
 *    separate process (each must answer 200 within 2 s), the node's RSS
 *    from /proc every 500 ms (must stay under `--rss-bound-mib`).
 * 4. After: every acknowledged write (200) is read back and compared; then
 *    the closed loop runs again and must reach at least 80 % of R.
 * Each figure is printed next to its bound and whether it was met. The node
 * runs in its own process group and is stopped by it at the end.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { Agent, request } from "node:http"
import { connect, type Socket } from "node:net"
import { getPriority, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { apiHeaders, type ApiCredentials } from "@cairn/runtime-node/server/api-credentials"
import { cliMain } from "@cairn/runtime-node/server/local-cluster"
import { freeLoopbackPorts } from "../runtime-node/src/net/free-ports.ts"
import { printTable, saveResult } from "./result.ts"

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const ADMIN: ApiCredentials = { accessKey: "overload-bench-admin", secretKey: "overload-bench-secret-0123456789" }
const ADDRESSES = Array.from({ length: 64 }, (_, i) => `127.0.0.${i + 1}`)
/** The open loop never has more than this many requests outstanding (its own memory and fds). */
const MAX_OUTSTANDING = 4000
const VALUE_BYTES = 4096
/** A held connection asks /health this often: well within the node's 30 s idle timeout, so it stays open. */
const HELD_PING_MS = 20_000
const HEALTH_BUDGET_MS = 2000
const RECOVERY_SHARE = 0.8

/** The value written under `key`: 4 KiB derived from the key, so nothing but the keys is kept to check them. */
const valueOf = (key: string) => key.padEnd(VALUE_BYTES, "#")

interface Node {
  readonly child: ChildProcess
  readonly port: number
  readonly dataDir: string
}

const startNode = async (): Promise<Node> => {
  const [api, peer, s3] = await freeLoopbackPorts(3)
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-overload-"))
  const args = [cliMain, "server", "--data-dir", dataDir, "--api-listen", `127.0.0.1:${api}`, "--peer-listen", `127.0.0.1:${peer}`, "--s3-listen", `127.0.0.1:${s3}`, "--log-level", "warn"]
  const env = { ...process.env, CAIRN_ACCESS_KEY: ADMIN.accessKey, CAIRN_SECRET_KEY: ADMIN.secretKey }
  // Its own process group: stopped as a whole at the end.
  const child = spawn(process.execPath, args, { env, detached: true, stdio: ["ignore", "ignore", "inherit"] })
  for (let i = 0; i < 600; i++) {
    if ((await call(api!, "GET", "/ready", undefined, undefined, ADMIN, 2000)).status === 200) return { child, port: api!, dataDir }
    await sleep(100)
  }
  throw new Error("the node did not become ready")
}

const stopNode = async (node: Node): Promise<void> => {
  const exited = new Promise<void>((r) => node.child.once("exit", () => r()))
  process.kill(-node.child.pid!, "SIGTERM")
  const killed = setTimeout(() => process.kill(-node.child.pid!, "SIGKILL"), 15_000)
  await exited
  clearTimeout(killed)
  rmSync(node.dataDir, { recursive: true, force: true })
}

interface Answer {
  readonly status: number
  readonly body: string
}

const agents = new Map<string, Agent>()
const agentFor = (address: string) => {
  let agent = agents.get(address)
  if (agent === undefined) agents.set(address, agent = new Agent({ keepAlive: true, maxSockets: 256, localAddress: address }))
  return agent
}

/** One request; a network error or timeout is status 0. */
const call = (port: number, method: string, path: string, body: string | undefined, address: string | undefined, who: ApiCredentials, timeoutMs: number) =>
  new Promise<Answer>((resolve) => {
    const headers = apiHeaders(who, body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) })
    const req = request({ host: "127.0.0.1", port, method, path, headers, ...(address === undefined ? { agent: false } : { agent: agentFor(address) }) }, (res) => {
      let text = ""
      res.setEncoding("utf8").on("data", (c: string) => (text += c)).on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error("timeout")))
    req.on("error", () => resolve({ status: 0, body: "" }))
    req.end(body)
  })

/** The S3 users the load comes from (the node charges requests to their access keys). */
const createTenants = async (port: number, n: number): Promise<ReadonlyArray<ApiCredentials>> => {
  const tenants: Array<ApiCredentials> = []
  for (let i = 0; i < n; i++) {
    const r = await call(port, "POST", "/v1/admin/s3/users", JSON.stringify({ user: `tenant-${i}` }), undefined, ADMIN, 30_000)
    if (r.status !== 200 && r.status !== 201) throw new Error(`cannot create tenant ${i}: ${r.status} ${r.body}`)
    const { accessKey, secretKey } = JSON.parse(r.body) as ApiCredentials
    tenants.push({ accessKey, secretKey })
  }
  return tenants
}

/** The load: who sends the i-th request, from which address, to which key. */
interface Load {
  readonly port: number
  readonly tenants: ReadonlyArray<ApiCredentials>
  readonly acked: Set<string>
}
const put = (load: Load, key: string, i: number) =>
  call(load.port, "PUT", `/v1/kv/${key}`, valueOf(key), ADDRESSES[i % ADDRESSES.length], load.tenants[i % load.tenants.length]!, 30_000)

/** `clients` closed loops of PUTs of unique keys for `seconds`; returns the acknowledged rate. */
const closedLoop = async (load: Load, prefix: string, clients: number, seconds: number) => {
  const until = performance.now() + seconds * 1000
  let ok = 0
  let n = 0
  const loop = async (c: number) => {
    while (performance.now() < until) {
      const key = `${prefix}-${c}-${n++}`
      if ((await put(load, key, c)).status === 200) {
        ok++
        load.acked.add(key)
      }
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)))
  return ok / ((performance.now() - started) / 1000)
}

/** An open loop offering `rate` PUTs/s for `seconds`; counts answers by kind. */
const openLoop = async (load: Load, rate: number, seconds: number) => {
  const counts = { offered: 0, ok: 0, shed: 0, other: 0, errors: 0, skipped: 0 }
  let outstanding = 0
  const pending = new Set<Promise<void>>()
  const started = performance.now()
  let due = 0
  while (performance.now() < started + seconds * 1000) {
    const target = Math.floor(((performance.now() - started) / 1000) * rate)
    for (; due < target; due++) {
      if (outstanding >= MAX_OUTSTANDING) {
        counts.skipped++
        continue
      }
      const key = `over-${due}`
      outstanding++
      counts.offered++
      const p: Promise<void> = put(load, key, due).then((r) => {
        outstanding--
        pending.delete(p)
        if (r.status === 200) {
          counts.ok++
          load.acked.add(key)
        } else if (r.status === 503 && r.body.includes("slow-down")) counts.shed++
        else if (r.status === 0) counts.errors++
        else counts.other++
      })
      pending.add(p)
    }
    await sleep(5)
  }
  const elapsed = (performance.now() - started) / 1000
  await Promise.all(pending)
  return { ...counts, offeredPerSecond: counts.offered / elapsed, ackedPerSecond: counts.ok / elapsed }
}

/** `n` keep-alive connections, mostly idle: each asks /health every HELD_PING_MS; counts those that closed. */
const holdConnections = async (port: number, n: number) => {
  const sockets: Array<Socket> = []
  let closed = 0
  const timers: Array<ReturnType<typeof setInterval>> = []
  const starts: Array<ReturnType<typeof setTimeout>> = []
  for (let i = 0; i < n; i++) {
    const socket = connect({ port, host: "127.0.0.1", localAddress: ADDRESSES[i % ADDRESSES.length]! })
    const ping = () => socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    socket.on("error", () => {}).once("close", () => closed++).on("data", () => {})
    ping()
    // Spread over the period, so the pings are a steady trickle rather than bursts.
    starts.push(setTimeout(() => {
      ping()
      timers.push(setInterval(ping, HELD_PING_MS))
    }, (i * HELD_PING_MS) / n))
    sockets.push(socket)
    if (i % 250 === 249) await sleep(20)
  }
  return {
    open: () => n - closed,
    close: () => {
      starts.forEach(clearTimeout)
      timers.forEach(clearInterval)
      sockets.forEach((s) => s.destroy())
    }
  }
}

/** `n` clients that send one byte a second: of their headers (slowloris), or of a 4 KiB body; counts those the node closed. */
const slowClients = (port: number, n: number, what: "headers" | "body") => {
  let closedByNode = 0
  const auth = apiHeaders(ADMIN).authorization
  const text = what === "headers"
    ? "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(10_000)
    : "x".repeat(VALUE_BYTES)
  const sockets = Array.from({ length: n }, (_, i) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress: ADDRESSES[i % ADDRESSES.length]! })
    if (what === "body") socket.write(`PUT /v1/kv/slow-${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth}\r\nContent-Length: ${VALUE_BYTES}\r\n\r\n`)
    let sent = 0
    const timer = setInterval(() => socket.write(text[sent++]!), 1000)
    socket.on("error", () => {}).on("data", () => {}).on("close", () => {
      clearInterval(timer)
      closedByNode++
    })
    return { socket, timer }
  })
  return {
    closed: () => closedByNode,
    stop: () => sockets.forEach((s) => {
      clearInterval(s.timer)
      s.socket.removeAllListeners("close")
      s.socket.destroy()
    })
  }
}

/**
 * The /health prober: a separate process, so that the load generator's own
 * busy event loop does not delay (and so fail) its probes. Prints one JSON
 * line with every latency when told to stop (SIGTERM).
 */
const PROBER = `
const http = require("node:http")
const port = Number(process.argv[1])
const health = { ms: [], failedAt: [] }
let running = true
process.on("SIGTERM", () => { running = false })
const probe = () => new Promise((resolve) => {
  const t = performance.now()
  const req = http.get({ host: "127.0.0.1", port, path: "/health", agent: false }, (res) => {
    res.resume().on("end", () => resolve({ ok: res.statusCode === 200, ms: performance.now() - t }))
  })
  req.setTimeout(${HEALTH_BUDGET_MS}, () => req.destroy(new Error("timeout")))
  req.on("error", () => resolve({ ok: false, ms: performance.now() - t }))
})
;(async () => {
  while (running) {
    const r = await probe()
    health.ms.push(Math.round(r.ms * 10) / 10)
    if (!r.ok) health.failedAt.push(Date.now())
    await new Promise((r) => setTimeout(r, 250))
  }
  process.stdout.write(JSON.stringify(health) + "\\n")
})()
`

/** The machine's load while the test ran: others' processes share the cores, and under `nice` the node gets what they leave. */
const machineLoad = () => {
  const pressure = /avg60=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"))?.[1] ?? "?"
  return `load ${loadavg()[0]!.toFixed(1)}, cpu pressure ${pressure} %`
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0)

/** Samples /health (a separate process) and the node's RSS until stopped. */
const watch = (node: Node) => {
  let rssMaxKiB = 0
  const prober = spawn(process.execPath, ["-e", PROBER, String(node.port)], { stdio: ["ignore", "pipe", "inherit"] })
  let out = ""
  prober.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c))
  const done = new Promise<void>((r) => prober.once("exit", () => r()))
  const rss = setInterval(() => void (rssMaxKiB = Math.max(rssMaxKiB, rssKiB(node.child.pid!))), 500)
  return {
    stop: async () => {
      clearInterval(rss)
      prober.kill("SIGTERM")
      await done
      const health = JSON.parse(out) as { ms: Array<number>; failedAt: Array<number> }
      return { ...health, rssMaxMiB: Math.round(rssMaxKiB / 1024) }
    }
  }
}

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

/** Reads back every acknowledged write; returns how many are missing or differ. */
const verify = async (load: Load) => {
  const keys = [...load.acked]
  let bad = 0
  let next = 0
  const worker = async (w: number) => {
    while (next < keys.length) {
      const key = keys[next++]!
      const read = () => call(load.port, "GET", `/v1/kv/${key}`, undefined, ADDRESSES[w % ADDRESSES.length], load.tenants[w % load.tenants.length]!, 30_000)
      let r = await read()
      // A read shed under leftover load is retried, never counted as lost.
      while (r.status === 503) r = await read()
      if (r.status !== 200 || r.body !== valueOf(key)) bad++
    }
  }
  await Promise.all(Array.from({ length: 32 }, (_, w) => worker(w)))
  return { checked: keys.length, bad }
}

/** The node's own overload counters for the KV listener (its /metrics). */
const overloadCounters = async (port: number) => {
  const text = (await call(port, "GET", "/metrics", undefined, undefined, ADMIN, 30_000)).body
  const value = (series: string) => Number(new RegExp(`^${series}\\{[^}]*listener="kv"[^}]*\\} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN)
  const shed = [...text.matchAll(/^cairn_overload_shed_total\{listener="kv",reason="([a-z-]+)"\} (\S+)$/gm)].map((m) => `${m[1]}=${m[2]}`).join(" ")
  return {
    shed,
    headerTimeouts: value("cairn_overload_header_timeouts_total"),
    slowBodies: value("cairn_overload_slow_bodies_total"),
    refused: value("cairn_overload_connections_refused_total"),
    evicted: value("cairn_overload_connections_evicted_total")
  }
}

const arg = (args: ReadonlyArray<string>, name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}

type Row = { measure: string; figure: string | number; bound: string; met: boolean | null }

export async function main(args: ReadonlyArray<string>): Promise<void> {
  const multiple = arg(args, "--multiple", 10)
  const baselineSeconds = arg(args, "--baseline-seconds", 10)
  const overloadSeconds = arg(args, "--overload-seconds", 30)
  const connections = arg(args, "--connections", 5000)
  const slow = arg(args, "--slow-clients", 50)
  const rssBoundMiB = arg(args, "--rss-bound-mib", 1024)
  // As many as the node serves at once (--max-inflight-requests): the rate it sustains when kept busy, not one throttled by the clients.
  const clients = arg(args, "--clients", 512)
  const tenantCount = arg(args, "--tenants", 16)
  const before = machineLoad()
  const node = await startNode()
  try {
    const load: Load = { port: node.port, tenants: await createTenants(node.port, tenantCount), acked: new Set() }
    const idleRssMiB = Math.round(rssKiB(node.child.pid!) / 1024)
    const watcher = watch(node)
    const phases: Record<string, number> = { warmup: Date.now() }
    // Connections, JIT and the WAL warmed up before measuring.
    await closedLoop(load, "warm", clients, 5)
    phases.baseline = Date.now()
    const baseline = await closedLoop(load, "base", clients, baselineSeconds)
    process.stderr.write(`baseline: ${baseline.toFixed(0)} acked PUTs/s\n`)
    phases.overload = Date.now()
    const held = await holdConnections(node.port, connections)
    const loris = slowClients(node.port, slow, "headers")
    const slowBodies = slowClients(node.port, slow, "body")
    const over = await openLoop(load, multiple * baseline, overloadSeconds)
    const openAtEnd = held.open()
    const [lorisClosed, bodiesClosed] = [loris.closed(), slowBodies.closed()]
    held.close()
    loris.stop()
    slowBodies.stop()
    process.stderr.write(`overload: ${JSON.stringify(over)}\n`)
    await sleep(2000)
    phases.after = Date.now()
    const after = await closedLoop(load, "after", clients, baselineSeconds)
    const health = await watcher.stop()
    const check = await verify(load)
    const counters = await overloadCounters(node.port)
    const phaseOf = (t: number) => Object.entries(phases).filter(([, start]) => start <= t).pop()?.[0] ?? "start"
    const rows: Array<Row> = [
      { measure: "machine before / after (1-min load average on the cores, /proc/pressure/cpu some avg60); nice of the node", figure: `${before} / ${machineLoad()}; nice ${getPriority(node.child.pid!)}`, bound: "-", met: null },
      { measure: "baseline: acked PUT/s (closed loop, the sustainable rate R)", figure: Math.round(baseline), bound: "-", met: null },
      { measure: "offered PUT/s (open loop)", figure: Math.round(over.offeredPerSecond), bound: `${multiple}x R = ${Math.round(multiple * baseline)}`, met: over.offeredPerSecond >= 0.9 * multiple * baseline },
      { measure: "acked PUT/s under overload", figure: Math.round(over.ackedPerSecond), bound: "-", met: null },
      { measure: "answers under overload: acked / shed 503 / other / network errors / not sent (generator cap)", figure: `${over.ok} / ${over.shed} / ${over.other} / ${over.errors} / ${over.skipped}`, bound: "-", met: null },
      { measure: "node's shed counters", figure: counters.shed, bound: "-", met: null },
      { measure: "held keep-alive connections open at the end", figure: `${openAtEnd}/${connections}`, bound: "-", met: null },
      { measure: "node's connections evicted (idle) / refused at the cap", figure: `${counters.evicted} / ${counters.refused}`, bound: "-", met: null },
      { measure: "slowloris (headers 1 B/s) closed by the node", figure: `${lorisClosed}/${slow} (header timeouts ${counters.headerTimeouts})`, bound: `all ${slow}`, met: lorisClosed === slow },
      { measure: "slow bodies (1 B/s) cut by the node", figure: `${bodiesClosed}/${slow} (slow bodies ${counters.slowBodies})`, bound: `all ${slow}`, met: bodiesClosed === slow },
      { measure: "/health probes failed (200 within 2 s, fresh connection, every 250 ms)", figure: `${health.failedAt.length}/${health.ms.length}${health.failedAt.length > 0 ? ` in ${health.failedAt.map(phaseOf).join(" ")}` : ""}`, bound: "0", met: health.failedAt.length === 0 },
      { measure: "/health latency p50 / p99 / max ms", figure: `${percentile(health.ms, 50)} / ${percentile(health.ms, 99)} / ${Math.max(...health.ms)}`, bound: `max < ${HEALTH_BUDGET_MS}`, met: Math.max(...health.ms) < HEALTH_BUDGET_MS },
      { measure: "node RSS MiB: idle / max over the run", figure: `${idleRssMiB} / ${health.rssMaxMiB}`, bound: `max < ${rssBoundMiB}`, met: health.rssMaxMiB < rssBoundMiB },
      { measure: "acknowledged writes read back: lost or wrong / checked", figure: `${check.bad}/${check.checked}`, bound: "0 lost", met: check.bad === 0 },
      { measure: "after the load: acked PUT/s (closed loop)", figure: Math.round(after), bound: `>= ${RECOVERY_SHARE} x R = ${Math.round(RECOVERY_SHARE * baseline)}`, met: after >= RECOVERY_SHARE * baseline }
    ]
    printTable(rows)
    const path = saveResult({
      benchmark: "overload",
      scenario:
        `One cairn server (default overload limits, fsync'd WAL) on loopback, KV API, ${VALUE_BYTES}-byte values, ${tenantCount} tenants (S3 access keys) from 64 loopback addresses. ` +
        `Baseline: ${clients} closed-loop clients PUT unique keys for ${baselineSeconds} s (the sustainable rate R, measured in this run after a 5 s warm-up). ` +
        `Overload: an open loop offering ${multiple}x R for ${overloadSeconds} s (at most ${MAX_OUTSTANDING} outstanding; 'not sent' counts what the generator could not offer), ` +
        `with ${connections} keep-alive connections held open (a /health each every ${HELD_PING_MS / 1000} s), ${slow} slowloris clients sending a header byte a second ` +
        `and ${slow} sending a ${VALUE_BYTES}-byte body a byte a second. /health probed every 250 ms from a separate process (fresh connection, ${HEALTH_BUDGET_MS / 1000} s budget); ` +
        `RSS sampled every 500 ms from /proc; afterwards every acknowledged write read back, and the closed loop run again (must reach ${RECOVERY_SHARE * 100} % of R). ` +
        "The load generator, the prober and the node share the machine's cores.",
      rows
    })
    process.stdout.write(`saved ${path}\n`)
    if (rows.some((r) => r.met === false)) process.exitCode = 1
  } finally {
    for (const agent of agents.values()) agent.destroy()
    await stopNode(node)
  }
}
