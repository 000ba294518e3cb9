/**
 * `npm run bench -- overload [--multiple M] [--baseline-seconds S] [--overload-seconds S]
 * [--connections N] [--slow-clients N] [--clients N] [--rss-bound-mib B]`: one `cairn server`
 * (default limits) driven past the rate it sustains. Not in CI.
 *
 * 1. Baseline: `--clients` (512, the default --max-inflight-requests) closed-loop clients PUT unique keys for `--baseline-seconds`;
 *    their acknowledged rate is the sustainable rate R.
 * 2. Overload for `--overload-seconds`: an open loop offers M×R PUTs/s (each
 *    a new key; the generator caps its own outstanding requests and reports
 *    the rate it really offered), while `--connections` keep-alive
 *    connections stay open and `--slow-clients` send their headers one byte
 *    a second (slowloris). Load comes from 64 loopback addresses
 *    (127.0.0.x), so the per-client limit is not what sheds it.
 * 3. Throughout: `/health` on a fresh connection every 250 ms (each must
 *    answer 200 within 2 s), the node's RSS from /proc every 500 ms (must
 *    stay under `--rss-bound-mib`).
 * 4. After: every acknowledged write (200) is read back and compared; then
 *    the closed loop runs again and must reach at least 80 % of R.
 * The node runs in its own process group and is stopped by it at the end.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { Agent, request } from "node:http"
import { connect, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { apiHeaders } from "@cairn/runtime-node/server/api-credentials"
import { cliMain } from "@cairn/runtime-node/server/local-cluster"
import { freeLoopbackPorts } from "../runtime-node/src/net/free-ports.ts"
import { printTable, saveResult } from "./result.ts"

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const CREDENTIALS = { accessKey: "overload-bench-admin", secretKey: "overload-bench-secret-0123456789" }
const ADDRESSES = Array.from({ length: 64 }, (_, i) => `127.0.0.${i + 1}`)
/** The open loop never has more than this many requests outstanding (its own memory and fds). */
const MAX_OUTSTANDING = 4000

interface Node {
  readonly child: ChildProcess
  readonly port: number
  readonly dataDir: string
}

const startNode = async (): Promise<Node> => {
  const [api, peer, s3] = await freeLoopbackPorts(3)
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-overload-"))
  const args = [cliMain, "server", "--data-dir", dataDir, "--api-listen", `127.0.0.1:${api}`, "--peer-listen", `127.0.0.1:${peer}`, "--s3-listen", `127.0.0.1:${s3}`, "--log-level", "warn"]
  const env = { ...process.env, CAIRN_ACCESS_KEY: CREDENTIALS.accessKey, CAIRN_SECRET_KEY: CREDENTIALS.secretKey }
  // Its own process group: stopped as a whole at the end.
  const child = spawn(process.execPath, args, { env, detached: true, stdio: ["ignore", "ignore", "inherit"] })
  for (let i = 0; i < 600; i++) {
    if ((await get(api, "/ready", undefined, 2000)).status === 200) return { child, port: api!, dataDir }
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
  readonly headers: Record<string, string | Array<string> | undefined>
}

const agents = new Map<string, Agent>()
const agentFor = (address: string) => {
  let agent = agents.get(address)
  if (agent === undefined) agents.set(address, agent = new Agent({ keepAlive: true, maxSockets: 256, localAddress: address }))
  return agent
}

/** One request; a network error or timeout is status 0. */
const call = (port: number, method: string, path: string, body: string | undefined, address: string | undefined, timeoutMs: number) =>
  new Promise<Answer>((resolve) => {
    const headers = apiHeaders(CREDENTIALS, body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) })
    const req = request({ host: "127.0.0.1", port, method, path, headers, ...(address === undefined ? { agent: false } : { agent: agentFor(address) }) }, (res) => {
      let text = ""
      res.setEncoding("utf8").on("data", (c: string) => (text += c)).on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }))
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error("timeout")))
    req.on("error", () => resolve({ status: 0, body: "", headers: {} }))
    req.end(body)
  })
const get = (port: number | undefined, path: string, address: string | undefined, timeoutMs: number) => call(port!, "GET", path, undefined, address, timeoutMs)
const put = (port: number, key: string, value: string, address: string) => call(port, "PUT", `/v1/kv/${key}`, value, address, 30_000)

type Acked = Map<string, string>

/** `clients` closed loops of PUTs of unique keys for `seconds`; returns the acknowledged rate. */
const closedLoop = async (port: number, prefix: string, clients: number, seconds: number, acked: Acked) => {
  const until = performance.now() + seconds * 1000
  let ok = 0
  let other = 0
  let n = 0
  const loop = async (c: number) => {
    while (performance.now() < until) {
      const key = `${prefix}-${c}-${n++}`
      const value = `v-${key}`
      const r = await put(port, key, value, ADDRESSES[c % ADDRESSES.length]!)
      if (r.status === 200) {
        ok++
        acked.set(key, value)
      } else other++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)))
  return { rate: ok / ((performance.now() - started) / 1000), ok, other }
}

/** An open loop offering `rate` PUTs/s for `seconds`; counts answers by kind. */
const openLoop = async (port: number, rate: number, seconds: number, acked: Acked) => {
  const counts = { offered: 0, ok: 0, shed: 0, other: 0, errors: 0, skipped: 0 }
  let outstanding = 0
  const pending: Array<Promise<void>> = []
  const started = performance.now()
  const until = started + seconds * 1000
  let due = 0
  while (performance.now() < until) {
    const target = Math.floor(((performance.now() - started) / 1000) * rate)
    for (; due < target; due++) {
      if (outstanding >= MAX_OUTSTANDING) {
        counts.skipped++
        continue
      }
      const key = `over-${due}`
      const value = `v-${key}`
      outstanding++
      counts.offered++
      pending.push(put(port, key, value, ADDRESSES[due % ADDRESSES.length]!).then((r) => {
        outstanding--
        if (r.status === 200) {
          counts.ok++
          acked.set(key, value)
        } else if (r.status === 503 && r.body.includes("slow-down")) counts.shed++
        else if (r.status === 0) counts.errors++
        else counts.other++
      }))
    }
    await sleep(5)
  }
  await Promise.all(pending)
  return { ...counts, offeredPerSecond: counts.offered / seconds, ackedPerSecond: counts.ok / seconds }
}

/** `n` connections that each send one request and then stay open, idle (keep-alive). */
const holdConnections = async (port: number, n: number) => {
  const sockets: Array<Socket> = []
  let closed = 0
  let failed = 0
  for (let i = 0; i < n; i++) {
    const socket = connect({ port, host: "127.0.0.1", localAddress: ADDRESSES[i % ADDRESSES.length]! })
    socket.on("error", () => failed++).on("close", () => closed++).on("data", () => {})
    socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    sockets.push(socket)
    if (i % 250 === 249) await sleep(20)
  }
  return { open: () => n - closed, failed: () => failed, close: () => sockets.forEach((s) => s.destroy()) }
}

/** `n` slowloris clients: headers one byte a second; counts those the server closed. */
const slowClients = (port: number, n: number) => {
  let closedByServer = 0
  const header = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(10_000)
  const sockets = Array.from({ length: n }, (_, i) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress: ADDRESSES[i % ADDRESSES.length]! })
    let sent = 0
    const timer = setInterval(() => socket.write(header[sent++]!), 1000)
    socket.on("error", () => {}).on("close", () => {
      clearInterval(timer)
      closedByServer++
    })
    return { socket, timer }
  })
  return {
    closed: () => closedByServer,
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
 * line when told to stop (SIGTERM).
 */
const PROBER = `
const http = require("node:http")
const port = Number(process.argv[1])
const health = { probes: 0, failures: 0, worstMs: 0, failedAt: [] }
let running = true
process.on("SIGTERM", () => { running = false })
const probe = () => new Promise((resolve) => {
  const t = performance.now()
  const req = http.get({ host: "127.0.0.1", port, path: "/health", agent: false }, (res) => {
    res.resume().on("end", () => resolve({ ok: res.statusCode === 200, ms: performance.now() - t }))
  })
  req.setTimeout(2000, () => req.destroy(new Error("timeout")))
  req.on("error", () => resolve({ ok: false, ms: performance.now() - t }))
})
;(async () => {
  while (running) {
    const r = await probe()
    health.probes++
    if (!r.ok) { health.failures++; health.failedAt.push(Date.now()) }
    health.worstMs = Math.max(health.worstMs, r.ms)
    await new Promise((r) => setTimeout(r, 250))
  }
  process.stdout.write(JSON.stringify(health) + "\\n")
})()
`

/** Samples /health (a separate process; fresh connection, 2 s budget) and the node's RSS until stopped. */
const watch = (node: Node) => {
  let rssMaxKiB = 0
  const prober = spawn(process.execPath, ["-e", PROBER, String(node.port)], { stdio: ["ignore", "pipe", "inherit"] })
  let out = ""
  prober.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c))
  const done = new Promise<void>((r) => prober.once("exit", () => r()))
  const rss = setInterval(() => {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${node.child.pid}/status`, "utf8"))
    if (m !== null) rssMaxKiB = Math.max(rssMaxKiB, Number(m[1]))
  }, 500)
  return {
    stop: async () => {
      clearInterval(rss)
      prober.kill("SIGTERM")
      await done
      const health = JSON.parse(out) as { probes: number; failures: number; worstMs: number; failedAt: Array<number> }
      return { ...health, rssMaxMiB: Math.round(rssMaxKiB / 1024) }
    }
  }
}

/** Reads back every acknowledged write; returns how many are missing or differ. */
const verify = async (port: number, acked: Acked) => {
  const entries = [...acked]
  let bad = 0
  let next = 0
  const worker = async (w: number) => {
    while (next < entries.length) {
      const [key, value] = entries[next++]!
      let r = await get(port, `/v1/kv/${key}`, ADDRESSES[w % ADDRESSES.length], 30_000)
      // A read shed under leftover load is retried, never counted as lost.
      while (r.status === 503) r = await get(port, `/v1/kv/${key}`, ADDRESSES[w % ADDRESSES.length], 30_000)
      if (r.status !== 200 || r.body !== value) bad++
    }
  }
  await Promise.all(Array.from({ length: 32 }, (_, w) => worker(w)))
  return { checked: entries.length, bad }
}

/** The node's own overload counters for the KV listener (its /metrics), to tell why connections closed. */
const overloadCounters = async (port: number) => {
  const text = (await get(port, "/metrics", undefined, 30_000)).body
  const value = (series: string) => {
    const m = new RegExp(`^${series}\\{[^}]*listener="kv"[^}]*\\} (\\S+)$`, "m").exec(text)
    return m === null ? null : Number(m[1])
  }
  process.stderr.write(text.split("\n").filter((l) => l.startsWith("cairn_overload")).join("\n") + "\n")
  const shed = [...text.matchAll(/^cairn_overload_shed_total\{listener="kv",reason="([a-z-]+)"\} (\S+)$/gm)].map((m) => `${m[1]}=${m[2]}`).join(" ")
  return {
    "node shed": shed,
    "node header timeouts": value("cairn_overload_header_timeouts_total"),
    "node slow bodies": value("cairn_overload_slow_bodies_total"),
    "node connections refused": value("cairn_overload_connections_refused_total")
  }
}

const arg = (args: ReadonlyArray<string>, name: string, fallback: number) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}

export async function main(args: ReadonlyArray<string>): Promise<void> {
  const multiple = arg(args, "--multiple", 3)
  const baselineSeconds = arg(args, "--baseline-seconds", 10)
  const overloadSeconds = arg(args, "--overload-seconds", 20)
  const connections = arg(args, "--connections", 5000)
  const slow = arg(args, "--slow-clients", 50)
  const rssBoundMiB = arg(args, "--rss-bound-mib", 1024)
  // As many as the node serves at once (--max-inflight-requests): the rate it sustains when kept busy, not one throttled by the clients.
  const clients = arg(args, "--clients", 512)
  const node = await startNode()
  try {
    const acked: Acked = new Map()
    const watcher = watch(node)
    const phases: Record<string, number> = { warmup: Date.now() }
    // Connections, JIT and the WAL warmed up before measuring.
    await closedLoop(node.port, "warm", clients, 3, acked)
    phases.baseline = Date.now()
    const baseline = await closedLoop(node.port, "base", clients, baselineSeconds, acked)
    process.stderr.write(`baseline: ${baseline.rate.toFixed(0)} acked PUTs/s\n`)
    phases.overload = Date.now()
    const held = await holdConnections(node.port, connections)
    const loris = slowClients(node.port, slow)
    const over = await openLoop(node.port, multiple * baseline.rate, overloadSeconds, acked)
    const openAtEnd = held.open()
    const lorisClosed = loris.closed()
    held.close()
    loris.stop()
    process.stderr.write(`overload: ${JSON.stringify(over)}\n`)
    await sleep(2000)
    phases.after = Date.now()
    const after = await closedLoop(node.port, "after", clients, baselineSeconds, acked)
    const health = await watcher.stop()
    const check = await verify(node.port, acked)
    const counters = await overloadCounters(node.port)
    const phaseOf = (t: number) => Object.entries(phases).filter(([, start]) => start <= t).pop()?.[0] ?? "start"
    if (health.failures > 0) process.stderr.write(`/health failures in phases: ${health.failedAt.map(phaseOf).join(", ")}\n`)
    const rows = [{
      "baseline PUT/s": Math.round(baseline.rate),
      multiple,
      "offered PUT/s": Math.round(over.offeredPerSecond),
      "acked PUT/s under overload": Math.round(over.ackedPerSecond),
      "shed 503": over.shed,
      "other status": over.other,
      "network errors": over.errors,
      "not sent (generator cap)": over.skipped,
      "connections held": connections,
      "held open at end": openAtEnd,
      "held failed": held.failed(),
      "slowloris closed": `${lorisClosed}/${slow}`,
      "health probes": health.probes,
      "health failures": health.failures,
      "health worst ms": Math.round(health.worstMs),
      "health failures in": health.failedAt.map(phaseOf).join(" ") || "-",
      "RSS max MiB": health.rssMaxMiB,
      "RSS bound MiB": rssBoundMiB,
      "acked writes checked": check.checked,
      "acked writes lost": check.bad,
      ...counters,
      "after PUT/s": Math.round(after.rate),
      "after / baseline": Number((after.rate / baseline.rate).toFixed(2)),
      pass: health.failures === 0 && health.rssMaxMiB < rssBoundMiB && check.bad === 0 && after.rate >= 0.8 * baseline.rate
    }]
    printTable(rows)
    const path = saveResult({
      benchmark: "overload",
      scenario:
        `One cairn server (default overload limits, fsync'd WAL) on loopback. Baseline: ${clients} closed-loop clients PUT unique keys for ${baselineSeconds} s ` +
        `(the sustainable rate, measured in this run). Overload: an open loop offering ${multiple}x that rate for ${overloadSeconds} s ` +
        `(at most ${MAX_OUTSTANDING} outstanding; 'not sent' counts what the generator could not offer), with ${connections} idle keep-alive ` +
        `connections held open and ${slow} slowloris clients sending a header byte a second, from 64 loopback addresses. /health probed every 250 ms ` +
        `(fresh connection, 2 s budget); RSS sampled every 500 ms from /proc (bound ${rssBoundMiB} MiB); afterwards every acknowledged write read back, ` +
        "and the closed loop run again (must reach 80 % of the baseline).",
      rows
    })
    process.stdout.write(`saved ${path}\n`)
  } finally {
    for (const agent of agents.values()) agent.destroy()
    await stopNode(node)
  }
}
