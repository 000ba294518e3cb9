/**
 * A real single-node `cairn server` child process for S3 tests that need
 * what the in-process harness cannot give: outside clients (the AWS CLI,
 * boto3) talking to the production binary, the io_uring disk, and a
 * process whose peak memory can be read from /proc. Every port is chosen
 * by the OS (port 0) and read back from the server's log.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { exited, spawnCairn } from "../server/local-cluster.ts"

export const PROCESS_ADMIN = { accessKey: "CAIRNPROCESSADMIN01", secretKey: "process-admin-secret-0123456789" }

export interface ServerProcess {
  /** The S3 endpoint, `http://127.0.0.1:PORT`. */
  readonly endpoint: string
  readonly port: number
  /** The KV HTTP API. */
  readonly api: string
  readonly pid: number
  readonly child: ChildProcess
  /** Everything the server printed so far (JSON log lines). */
  readonly logs: ReadonlyArray<string>
  /** The server's peak resident set (VmHWM) in bytes. */
  readonly peakRssBytes: () => number
  /** SIGTERM (SIGKILL if it does not exit within 10 s), then removes the data directory. */
  readonly stop: () => Promise<void>
}

const field = (line: string, msg: string, key: string): string | undefined => {
  if (!line.startsWith("{")) return undefined
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>
    const value = parsed[key]
    return parsed.msg === msg && typeof value === "string" ? value : undefined
  } catch {
    return undefined
  }
}

/** VmHWM of a live process, from /proc/<pid>/status. */
export const peakRssOf = (pid: number): number => {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  if (m === null) throw new Error(`no VmHWM in /proc/${pid}/status`)
  return Number(m[1]) * 1024
}

/** Starts `cairn server` with PROCESS_ADMIN as its admin credentials and waits until it has a leader (itself). */
export const startServerProcess = async (extraArgs: ReadonlyArray<string> = []): Promise<ServerProcess> => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-s3-process-"))
  const logs: Array<string> = []
  let onLine: (line: string) => void = () => undefined
  const child = spawnCairn(
    ["server", "--data-dir", dir, "--api-listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0", ...extraArgs],
    { CAIRN_ACCESS_KEY: PROCESS_ADMIN.accessKey, CAIRN_SECRET_KEY: PROCESS_ADMIN.secretKey, CAIRN_CLUSTER_SECRET: undefined },
    (line) => {
      logs.push(line)
      onLine(line)
    }
  )
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      await exited(child)
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const { api, s3 } = await new Promise<{ api: string; s3: string }>((resolve, reject) => {
      let api: string | undefined
      let s3: string | undefined
      const check = (line: string) => {
        api ??= field(line, "cairn server started", "api")
        s3 ??= field(line, "S3 API listening", "url")
        if (api !== undefined && s3 !== undefined) resolve({ api, s3 })
      }
      for (const line of logs) check(line)
      onLine = check
      child.once("exit", (code, signal) => reject(new Error(`cairn server exited (${code ?? signal}) before listening:\n${logs.join("\n")}`)))
    })
    for (;;) {
      if (child.exitCode !== null) throw new Error(`cairn server exited (${child.exitCode}):\n${logs.join("\n")}`)
      const ready = await fetch(`${api}/ready`).then((r) => r.status, () => 0)
      if (ready === 200) break
      await new Promise((r) => setTimeout(r, 50))
    }
    const pid = child.pid
    if (pid === undefined) throw new Error("cairn server has no pid")
    return { endpoint: s3, port: Number(new URL(s3).port), api, pid, child, logs, peakRssBytes: () => peakRssOf(pid), stop }
  } catch (e) {
    await stop()
    throw e
  }
}
