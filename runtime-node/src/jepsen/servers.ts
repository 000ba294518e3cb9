/**
 * The `cairn server` processes of a Jepsen run and the real controls the
 * nemesis uses on them: SIGKILL and restart on the same data directory,
 * SIGSTOP/SIGCONT, and a wall-clock offset through libfaketime.
 *
 * Each server is `node main.ts server ...` (wrapped in `ip netns exec` in
 * namespace mode and in `setpriv --pdeathsig KILL` where available, so a
 * runner that dies cannot leave servers behind). Output goes to one log
 * file per node. With libfaketime, every server starts with it preloaded
 * and reading its offset from a file the nemesis rewrites (re-read every
 * second); only CLOCK_REALTIME is shifted, as Jepsen's clock nemesis does
 * with `date`: the monotonic clock, which the OS guarantees never jumps, is
 * left alone.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cliMain } from "../server/local-cluster.ts"
import type { Hosts, TestHost } from "./hosts.ts"

export interface ServerEvent {
  readonly node: string
  /** How the process ended: a signal name or `code N`. */
  readonly how: string
  /** True when no fault asked for it (a crash of the server itself). */
  readonly unexpected: boolean
}

/** The libfaketime library to preload, if installed. */
export const findFaketime = (): string | undefined => {
  const roots = ["/usr/lib", "/usr/local/lib", "/usr/lib64"]
  for (const root of roots) {
    if (!existsSync(root)) continue
    const candidates = [join(root, "faketime"), ...readdirSync(root).map((d) => join(root, d, "faketime"))]
    for (const dir of candidates) {
      for (const lib of ["libfaketimeMT.so.1", "libfaketime.so.1"]) if (existsSync(join(dir, lib))) return join(dir, lib)
    }
  }
  return undefined
}

const hasSetpriv = (): boolean => {
  try {
    return execFileSync("setpriv", ["--help"], { encoding: "utf8" }).includes("pdeathsig")
  } catch {
    return false
  }
}

interface Slot {
  readonly host: TestHost
  readonly dataDir: string
  readonly logFile: string
  readonly clockFile: string
  child: ChildProcess | undefined
  /** Set while the nemesis expects the process to be down. */
  expectingExit: boolean
  paused: boolean
  starts: number
}

export interface Servers {
  readonly ids: ReadonlyArray<string>
  /** The admin key pair every server starts with (CAIRN_ACCESS_KEY/CAIRN_SECRET_KEY): S3 requests sign with it. */
  readonly credentials: { readonly accessKey: string; readonly secretKey: string }
  readonly host: (id: string) => TestHost
  readonly logFile: (id: string) => string
  readonly clockFaults: string | undefined
  readonly startAll: () => void
  /** SIGKILL; resolves with how it ended once it has. */
  readonly kill: (id: string) => Promise<string>
  /** Starts a node that is down (same data directory). */
  readonly restart: (id: string) => void
  /** SIGSTOP; resolves with the process state the kernel reports (`T` = stopped). */
  readonly pause: (id: string) => Promise<string>
  readonly resume: (id: string) => void
  /** Shifts the node's wall clock by `offsetMs` (0 undoes it). */
  readonly setClock: (id: string, offsetMs: number) => void
  readonly running: (id: string) => boolean
  readonly paused: (id: string) => boolean
  readonly events: ReadonlyArray<ServerEvent>
  /** Stops everything: SIGKILL (SIGCONT first for paused ones), waits for the exits. */
  readonly stopAll: () => Promise<void>
  readonly stopAllSync: () => void
  /** The last lines of a node's log. */
  readonly tail: (id: string, lines: number) => string
}

export const makeServers = (options: {
  readonly hosts: Hosts
  readonly dir: string
  readonly secret: string
  readonly requestTimeoutMs: number
  readonly faketime: boolean
}): Servers => {
  const { hosts } = options
  const lib = options.faketime ? findFaketime() : undefined
  const clockFaults = !options.faketime ? "clock faults off" : lib === undefined ? "libfaketime not installed (apt-get install libfaketime)" : undefined
  const setpriv = hasSetpriv()
  const credentials = { accessKey: "jepsen", secretKey: options.secret }
  const events: Array<ServerEvent> = []
  const slots = new Map<string, Slot>()
  for (const host of hosts.nodes) {
    const dataDir = join(options.dir, host.id)
    mkdirSync(dataDir, { recursive: true })
    const clockFile = join(options.dir, `${host.id}.faketime`)
    writeFileSync(clockFile, "+0\n")
    slots.set(host.id, { host, dataDir, logFile: join(options.dir, `${host.id}.log`), clockFile, child: undefined, expectingExit: false, paused: false, starts: 0 })
  }
  const peers = hosts.nodes.map((n) => `${n.id}=${n.ip}:${n.peerPort}`).join(",")
  const apiPeers = hosts.nodes.map((n) => `${n.id}=${n.ip}:${n.apiPort}`).join(",")
  const slot = (id: string): Slot => {
    const s = slots.get(id)
    if (s === undefined) throw new Error(`unknown node ${id}`)
    return s
  }

  const start = (id: string) => {
    const s = slot(id)
    if (s.child !== undefined) return
    const { host } = s
    const argv = [
      process.execPath,
      cliMain,
      "server",
      "--id",
      host.id,
      "--data-dir",
      s.dataDir,
      "--peers",
      peers,
      "--api-listen",
      `${host.ip}:${host.apiPort}`,
      "--s3-listen",
      `${host.ip}:${host.s3Port}`,
      "--api-peers",
      apiPeers,
      "--request-timeout-ms",
      String(options.requestTimeoutMs)
    ]
    const full = [...(setpriv ? ["setpriv", "--pdeathsig", "KILL", "--"] : []), ...hosts.wrap(host, argv)]
    const log = openSync(s.logFile, "a")
    const env: Record<string, string | undefined> = {
      ...process.env,
      CAIRN_CLUSTER_SECRET: options.secret,
      CAIRN_ACCESS_KEY: credentials.accessKey,
      CAIRN_SECRET_KEY: credentials.secretKey
    }
    if (lib !== undefined) {
      env.LD_PRELOAD = lib
      env.FAKETIME_TIMESTAMP_FILE = s.clockFile
      env.FAKETIME_DONT_FAKE_MONOTONIC = "1"
      env.FAKETIME_CACHE_DURATION = "1"
    }
    const child = spawn(full[0]!, full.slice(1), { env, stdio: ["ignore", log, log] })
    closeSync(log)
    s.child = child
    s.starts++
    s.expectingExit = false
    s.paused = false
    child.once("exit", (code, signal) => {
      if (s.child === child) s.child = undefined
      events.push({ node: id, how: signal ?? `code ${code}`, unexpected: !s.expectingExit })
    })
  }

  const exitOf = (child: ChildProcess): Promise<string> =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve(child.signalCode ?? `code ${child.exitCode}`)
      : new Promise((r) => child.once("exit", (code, signal) => r(signal ?? `code ${code}`)))

  const processState = (pid: number | undefined): string => {
    if (pid === undefined) return "gone"
    try {
      // /proc/PID/stat: "pid (comm) S ..."; comm may hold spaces, so take the field after the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "?"
    } catch {
      return "gone"
    }
  }

  const stopAll = async () => {
    const children: Array<ChildProcess> = []
    for (const s of slots.values()) {
      if (s.child === undefined) continue
      s.expectingExit = true
      s.child.kill("SIGKILL")
      s.child.kill("SIGCONT")
      children.push(s.child)
    }
    await Promise.all(children.map(exitOf))
  }

  return {
    ids: hosts.nodes.map((n) => n.id),
    credentials,
    host: (id) => slot(id).host,
    logFile: (id) => slot(id).logFile,
    clockFaults,
    startAll: () => {
      for (const id of slots.keys()) start(id)
    },
    kill: async (id) => {
      const s = slot(id)
      const child = s.child
      if (child === undefined) return "not running"
      s.expectingExit = true
      child.kill("SIGKILL")
      if (s.paused) child.kill("SIGCONT")
      s.paused = false
      return exitOf(child)
    },
    restart: start,
    pause: async (id) => {
      const s = slot(id)
      if (s.child === undefined) return "not running"
      s.child.kill("SIGSTOP")
      s.paused = true
      // The signal is delivered asynchronously; look until the kernel reports the stop (bounded).
      for (let i = 0; i < 50; i++) {
        const state = processState(s.child?.pid)
        if (state === "T" || state === "gone") return state
        await new Promise((r) => setTimeout(r, 20))
      }
      return processState(s.child?.pid)
    },
    resume: (id) => {
      const s = slot(id)
      s.child?.kill("SIGCONT")
      s.paused = false
    },
    setClock: (id, offsetMs) => {
      const sign = offsetMs < 0 ? "-" : "+"
      writeFileSync(slot(id).clockFile, `${sign}${(Math.abs(offsetMs) / 1000).toFixed(3)}s\n`)
    },
    running: (id) => slot(id).child !== undefined,
    paused: (id) => slot(id).paused,
    events,
    stopAll,
    stopAllSync: () => {
      for (const s of slots.values()) {
        s.expectingExit = true
        s.child?.kill("SIGKILL")
        s.child?.kill("SIGCONT")
      }
    },
    tail: (id, lines) => {
      try {
        return readFileSync(slot(id).logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
      } catch {
        return ""
      }
    }
  }
}
