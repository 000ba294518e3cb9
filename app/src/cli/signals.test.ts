/**
 * Signals reach the node, however the README starts it: `npx cairn server`,
 * `npm start`, `node bin/cairn.js server` on an older Node (which re-executes
 * on the pinned Node 24) and on Node 24 itself. Each start runs in its own
 * process group; the test signals only the outermost process, then checks
 * that every process of the group ends, the API and S3 ports are free and
 * the data directory's lock is released (eventually, within a generous
 * bound: never a wall-clock assertion), and how the outer process ended.
 * The whole group is SIGKILLed at the end whatever happened.
 */
import { Effect, Exit } from "effect"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { createInterface } from "node:readline"
import { afterAll, describe, expect, it } from "vitest"
import { lockDataDir } from "@cairn/runtime-node/server/data-dir-lock"

const root = join(import.meta.dirname, "..", "..", "..")
const pinnedNode = join(root, "node_modules", "node", "bin", "node")
const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A node older than 24 on PATH (outside node_modules), to exercise bin/cairn.js's re-exec; undefined if none. */
const olderNode = (): string | undefined => {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    const candidate = join(dir, "node")
    if (dir.includes("node_modules") || !existsSync(candidate)) continue
    const version = spawnSync(candidate, ["--version"], { encoding: "utf8" }).stdout.trim()
    if (Number(/^v(\d+)\./.exec(version)?.[1] ?? 99) < 24) return candidate
  }
  return undefined
}

/** The environment without npm's variables (the test itself may run under `npm test`). */
const cleanEnv = (): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("npm_")))

interface Started {
  readonly child: ChildProcess
  readonly dataDir: string
  readonly apiPort: number
  readonly s3Port: number
  readonly output: Array<string>
}

const start = async (command: string, args: ReadonlyArray<string>): Promise<Started> => {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-signals-"))
  dirs.push(dataDir)
  const env = { ...cleanEnv(), CAIRN_DATA_DIR: dataDir, CAIRN_API_LISTEN: "127.0.0.1:0", CAIRN_S3_LISTEN: "127.0.0.1:0", CAIRN_PEER_LISTEN: "127.0.0.1:0" }
  const child = spawn(command, args, { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
  const output: Array<string> = []
  const ports = new Promise<{ apiPort: number; s3Port: number }>((resolve, reject) => {
    let apiPort: number | undefined
    const onLine = (line: string) => {
      output.push(line)
      const api = /"msg":"cairn server started".*"api":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(line)
      if (api !== null) apiPort = Number(api[1])
      const s3 = /"msg":"S3 API listening".*"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(line)
      if (s3 !== null && apiPort !== undefined) resolve({ apiPort, s3Port: Number(s3[1]) })
    }
    createInterface({ input: child.stdout! }).on("line", onLine)
    createInterface({ input: child.stderr! }).on("line", onLine)
    child.once("exit", (code, signal) => reject(new Error(`exited before serving (${signal ?? code}):\n${output.join("\n")}`)))
  })
  return { child, dataDir, output, ...(await ports) }
}

const ended = (child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    : new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })))

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })

const lockFree = async (dir: string): Promise<boolean> => Exit.isSuccess(await Effect.runPromiseExit(Effect.scoped(lockDataDir(dir))))

/** Polls `check` until it holds or `boundMs` passes; returns whether it held. */
const eventually = async (check: () => Promise<boolean> | boolean, boundMs: number): Promise<boolean> => {
  const until = Date.now() + boundMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > until) return false
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Graceful shutdown is bounded by the HTTP drain (10 s) plus the tracing flush (3 s); 30 s leaves room on a loaded machine. */
const SHUTDOWN_BOUND_MS = 30_000

const stopAndCheck = async (s: Started, signal: NodeJS.Signals) => {
  const pgid = s.child.pid!
  try {
    // The server holds its lock and ports while it runs (the checks below can fail).
    expect(await lockFree(s.dataDir)).toBe(false)
    expect(await portFree(s.apiPort)).toBe(false)
    process.kill(pgid, signal) // the outermost process only
    const outer = await ended(s.child)
    expect(await eventually(() => !groupAlive(pgid), SHUTDOWN_BOUND_MS), `processes left in the group:\n${s.output.join("\n")}`).toBe(true)
    expect(await portFree(s.apiPort)).toBe(true)
    expect(await portFree(s.s3Port)).toBe(true)
    expect(await lockFree(s.dataDir)).toBe(true)
    return outer
  } finally {
    if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL")
  }
}

const older = olderNode()
const ways: Array<{ name: string; command: string; args: Array<string>; skip?: string }> = [
  { name: "npx cairn server", command: "npx", args: ["--no-install", "cairn", "server"] },
  { name: "npm start", command: "npm", args: ["start", "--silent"] },
  { name: "node bin/cairn.js server (Node 24)", command: pinnedNode, args: ["bin/cairn.js", "server"] },
  {
    name: "node bin/cairn.js server (older Node: re-exec)",
    command: older ?? "node",
    args: ["bin/cairn.js", "server"],
    ...(older === undefined ? { skip: "no Node older than 24 on PATH" } : {})
  }
]

describe("signals to the outermost process reach the node", () => {
  for (const way of ways) {
    it.skipIf(way.skip !== undefined)(`${way.name}: SIGTERM stops it gracefully; the outer process ends by SIGTERM`, async () => {
      const s = await start(way.command, way.args)
      const outer = await stopAndCheck(s, "SIGTERM")
      expect(outer).toEqual({ code: null, signal: "SIGTERM" })
      expect(s.output.some((l) => l.includes('"msg":"cairn server stopped"'))).toBe(true)
    })
  }

  for (const signal of ["SIGINT", "SIGHUP"] as const) {
    it.skipIf(older === undefined)(`older Node, re-exec: ${signal} is forwarded and the outer process ends by it`, async () => {
      const s = await start(older!, ["bin/cairn.js", "server"])
      expect(await stopAndCheck(s, signal)).toEqual({ code: null, signal })
      expect(s.output.some((l) => l.includes('"msg":"cairn server stopped"'))).toBe(true)
    })
  }

  it("npm start: SIGHUP, which npm does not forward, still stops the node (it sees npm gone)", async () => {
    const s = await start("npm", ["start", "--silent"])
    expect(await stopAndCheck(s, "SIGHUP")).toEqual({ code: null, signal: "SIGHUP" })
    expect(s.output.some((l) => l.includes("which launched this process, is gone"))).toBe(true)
  })

  it.skipIf(older === undefined)("older Node, re-exec: a SIGKILLed launcher still gets its node stopped gracefully", async () => {
    const s = await start(older!, ["bin/cairn.js", "server"])
    expect(await stopAndCheck(s, "SIGKILL")).toEqual({ code: null, signal: "SIGKILL" })
    expect(s.output.some((l) => l.includes('"msg":"cairn server stopped"'))).toBe(true)
  })
})
