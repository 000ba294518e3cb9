/**
 * Real `cairn server` processes for the tests that restart whole clusters
 * (backup and restore, rolling upgrade): each node runs in its own process
 * group (spawned detached, i.e. setsid) and is stopped by that group's id,
 * so nothing it started can outlive the test. A node can run any build of
 * Cairn: `cli` is the path of that build's `app/src/cli/main.ts`.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { appendFileSync } from "node:fs"
import { createInterface } from "node:readline"
import { apiHeaders } from "./api-credentials.ts"
import { clusterEnv, cliMain, exited, type LocalCluster, type LocalNodeSpec, serverArgs } from "./local-cluster.ts"

export const TEST_CREDENTIALS = { accessKey: "admin", secretKey: "admin-secret-for-tests" }

export interface NodeProcess {
  readonly node: LocalNodeSpec
  readonly child: ChildProcess
}

const groups = new Set<ChildProcess>()

/** Starts `cairn server` for `node` with the build at `cli` and `extra` flags, its output appended to `logFile`. */
export const startNode = (cluster: LocalCluster, node: LocalNodeSpec, logFile: string, cli = cliMain, extra: ReadonlyArray<string> = []): NodeProcess => {
  const child = spawn(process.execPath, [cli, ...serverArgs(cluster, node, ["--request-timeout-ms", "3000", ...extra])], {
    env: { ...process.env, ...clusterEnv(cluster) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true
  })
  const log = (stream: string) => (line: string) => appendFileSync(logFile, `[${node.id} ${stream}] ${line}\n`)
  createInterface({ input: child.stdout! }).on("line", log("out"))
  createInterface({ input: child.stderr! }).on("line", log("err"))
  groups.add(child)
  child.once("exit", () => groups.delete(child))
  return { node, child }
}

/** Sends `signal` to the node's process group and waits for the node to exit; returns its exit code or signal. */
export const stopNode = async (p: NodeProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | string | null> => {
  if (p.child.exitCode === null && p.child.signalCode === null && p.child.pid !== undefined) {
    try {
      process.kill(-p.child.pid, signal)
    } catch {
      // the group is already gone
    }
  }
  await exited(p.child)
  return p.child.exitCode ?? p.child.signalCode
}

/** SIGKILLs every group still running (an afterEach after a failed test). */
export const killAllStarted = async (): Promise<void> => {
  const left = [...groups]
  for (const c of left) {
    try {
      if (c.pid !== undefined) process.kill(-c.pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  await Promise.all(left.map(exited))
}

export const apiUrl = (node: LocalNodeSpec) => `http://127.0.0.1:${node.apiPort}`

/** fetch with the test cluster's admin credentials. */
export const authed = (url: string, init: RequestInit = {}) =>
  fetch(url, { ...init, headers: apiHeaders(TEST_CREDENTIALS, init.headers as Record<string, string> | undefined) })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Status {
  readonly role: string
  readonly leader: string | null
  readonly commit: number
  readonly applied: number
}

export const nodeStatus = async (node: LocalNodeSpec): Promise<Status | undefined> => {
  try {
    const r = await authed(`${apiUrl(node)}/v1/status`, { signal: AbortSignal.timeout(1000) })
    return r.ok ? await r.json() as Status : undefined
  } catch {
    return undefined
  }
}

/** Waits (bounded by the test's timeout) until `/ready` answers 200 on the node. */
export const awaitReady = async (node: LocalNodeSpec): Promise<void> => {
  for (;;) {
    try {
      const r = await fetch(`${apiUrl(node)}/ready`, { signal: AbortSignal.timeout(1000) })
      if (r.status === 200) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
}

/** Waits until every node agrees on one leader; returns the leader's spec. */
export const awaitLeader = async (nodes: ReadonlyArray<LocalNodeSpec>): Promise<LocalNodeSpec> => {
  for (;;) {
    const all = await Promise.all(nodes.map(nodeStatus))
    const leaders = all.flatMap((s, i) => s?.role === "leader" ? [nodes[i]!] : [])
    if (leaders.length === 1 && all.every((s) => s?.leader === leaders[0]!.id)) return leaders[0]!
    await sleep(100)
  }
}

/** Waits until `node` has applied at least `index` (it caught up with the leader's commit at that time). */
export const awaitApplied = async (node: LocalNodeSpec, index: number): Promise<void> => {
  for (;;) {
    const s = await nodeStatus(node)
    if (s !== undefined && s.applied >= index) return
    await sleep(100)
  }
}
