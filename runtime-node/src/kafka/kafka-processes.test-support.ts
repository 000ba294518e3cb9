/**
 * Helpers of the Kafka real-client tests: outside clients (kcat, python3
 * with confluent-kafka) run in process groups of their own, stopped by id
 * in `stopCommands`, and a wait for a node's Kafka listener.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { connect } from "node:net"
import { exited } from "../server/local-cluster.ts"

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
