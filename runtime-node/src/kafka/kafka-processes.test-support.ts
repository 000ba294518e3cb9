/**
 * Helpers of the Kafka real-client tests: outside clients (kcat, python3
 * with confluent-kafka) run in process groups of their own, stopped by id
 * in `stopCommands`, and a wait for a node's Kafka listener.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { connect } from "node:net"
import { join } from "node:path"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { awaitLeader, awaitReady, type NodeProcess, startNode, TEST_CREDENTIALS } from "../server/cluster-processes.test-support.ts"
import { exited, type LocalCluster, planCluster } from "../server/local-cluster.ts"

const commands = new Set<ChildProcess>()

export interface Ran {
  readonly code: number | null
  readonly out: string
  readonly err: string
}

/** Runs `file args` in a process group of its own with `stdin` written to it; killed after `timeoutMs`. */
export const runCommand = async (file: string, args: ReadonlyArray<string>, stdin = "", timeoutMs = 30_000): Promise<Ran> => {
  const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], detached: true })
  commands.add(child)
  let out = ""
  let err = ""
  child.stdout.on("data", (d: Buffer) => (out += d.toString()))
  child.stderr.on("data", (d: Buffer) => (err += d.toString()))
  child.stdin.end(stdin)
  const timer = setTimeout(() => killGroup(child), timeoutMs)
  await exited(child)
  clearTimeout(timer)
  commands.delete(child)
  return { code: child.exitCode, out, err }
}

const killGroup = (c: ChildProcess) => {
  try {
    if (c.pid !== undefined) process.kill(-c.pid, "SIGKILL")
  } catch {
    // already gone
  }
}

/** SIGKILLs every command still running (an afterEach). */
export const stopCommands = async (): Promise<void> => {
  const left = [...commands]
  left.forEach(killGroup)
  await Promise.all(left.map(exited))
  commands.clear()
}

/** Resolves once something accepts connections on 127.0.0.1:port (bounded by the test's timeout). */
export const awaitListening = async (port: number): Promise<void> => {
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy()
        resolve(true)
      })
      s.once("error", () => resolve(false))
    })
    if (up) return
    await new Promise((r) => setTimeout(r, 100))
  }
}

export const KCAT = "/usr/bin/kcat"
export const PYTHON = "/usr/bin/python3"

/**
 * Starts a 3-node cluster of `cairn server` processes under `dir`, each with a Kafka listener, and
 * waits until every node is ready, a leader is elected and every listener accepts connections.
 * The processes are stopped by `killAllStarted` (cluster-processes.test-support.ts).
 */
export const startKafkaCluster = async (dir: string, secret: string): Promise<{ readonly cluster: LocalCluster; readonly processes: Array<NodeProcess> }> => {
  const ports = await freeLoopbackPorts(12)
  const cluster = planCluster({
    nodes: 3, dataRoot: dir, apiBase: 0, peerBase: 0, s3Base: 0, secret,
    credentials: TEST_CREDENTIALS, ports: ports.slice(0, 9), kafka: ports.slice(9)
  })
  const processes = cluster.nodes.map((node) => startNode(cluster, node, join(dir, "cluster.log")))
  for (const node of cluster.nodes) await awaitReady(node)
  await awaitLeader(cluster.nodes)
  for (const node of cluster.nodes) await awaitListening(node.kafkaPort!)
  return { cluster, processes }
}
