/**
 * One `cairn server` for the s3-tests run: its own process group (so
 * stopping it stops everything it started), OS-chosen ports read back from
 * its log, a fresh temporary data directory removed on stop, and admin
 * credentials made up for this run only.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { cliMain } from "../runtime-node/src/server/local-cluster.ts"

export interface DetachedServer {
  readonly api: string
  readonly s3Port: number
  /** `Basic …` for the admin endpoints. */
  readonly adminAuth: string
  /** SIGTERM to the whole group (SIGKILL after 10 s), then removes the data directory. */
  readonly stop: () => Promise<void>
}

/** The string field `key` of a JSON log line whose msg is `msg`. */
const logField = (line: string, msg: string, key: string): string | undefined => {
  if (!line.startsWith("{")) return undefined
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>
    const value = parsed[key]
    return parsed["msg"] === msg && typeof value === "string" ? value : undefined
  } catch {
    return undefined
  }
}

const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal)
  } catch (e) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e
  }
}

export const startDetachedServer = async (): Promise<DetachedServer> => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-s3-tests-data-"))
  const accessKey = `S3TESTSADMIN${randomBytes(4).toString("hex").toUpperCase()}`
  const secretKey = randomBytes(20).toString("hex")
  const child = spawn(
    process.execPath,
    [cliMain, "server", "--data-dir", dir, "--api-listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0"],
    { env: { ...process.env, CAIRN_ACCESS_KEY: accessKey, CAIRN_SECRET_KEY: secretKey }, stdio: ["ignore", "pipe", "pipe"], detached: true }
  )
  const pid = child.pid
  if (pid === undefined) throw new Error("cairn server did not start")
  const logs: Array<string> = []
  let api: string | undefined
  let s3: string | undefined
  let onReady: () => void = () => undefined
  const onLine = (line: string) => {
    if (logs.length < 200) logs.push(line)
    api ??= logField(line, "cairn server started", "api")
    s3 ??= logField(line, "S3 API listening", "url")
    if (api !== undefined && s3 !== undefined) onReady()
  }
  createInterface({ input: child.stdout }).on("line", onLine)
  createInterface({ input: child.stderr }).on("line", onLine)
  const exited = new Promise<void>((r) => child.once("exit", () => r()))
  const stop = async () => {
    signalGroup(pid, "SIGTERM")
    const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), 10_000)
    await exited
    clearTimeout(timer)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await new Promise<void>((resolveReady, reject) => {
      onReady = resolveReady
      child.once("exit", (code, signal) => reject(new Error(`cairn server exited (${code ?? signal}) before listening:\n${logs.join("\n")}`)))
    })
    for (;;) {
      if (child.exitCode !== null) throw new Error(`cairn server exited (${child.exitCode}):\n${logs.join("\n")}`)
      if (await fetch(`${api}/ready`).then((r) => r.status === 200, () => false)) break
      await new Promise((r) => setTimeout(r, 50))
    }
    return { api: api!, s3Port: Number(new URL(s3!).port), adminAuth: `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString("base64")}`, stop }
  } catch (e) {
    await stop()
    throw e
  }
}
