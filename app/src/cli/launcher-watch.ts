/**
 * Stops the CLI gracefully when the process that launched it is gone.
 *
 * `npx cairn server` and `npm start` run the CLI as npm → sh → node. npm
 * forwards SIGINT and SIGTERM to the shell only, and Debian's sh (dash)
 * dies of them without passing them on, so a `kill <npm>` (what `docker
 * stop` or a supervisor does) would leave the node running, orphaned, with
 * its ports and data directory held. npm does not forward SIGHUP at all.
 * So when started under npm (its `npm_command` / `npm_lifecycle_event`
 * variables), or by bin/cairn.js re-executing on the pinned Node
 * (`CAIRN_LAUNCHER_PID`), the CLI checks four times a second that its
 * launcher still lives and that it still has the same parent; if not, it
 * sends itself SIGTERM: the same graceful shutdown as a signal.
 *
 * On Linux the launcher is npm itself (the nearest ancestor whose command
 * line starts with `npm`, found through /proc), identified by pid and start
 * time so a reused pid does not count. Elsewhere only the parent is watched.
 */
import { readFileSync } from "node:fs"

interface Launcher {
  readonly pid: number
  /** /proc/PID/stat's start time: the pid is the same process while this matches. */
  readonly start: string | undefined
  readonly what: string
}

interface ProcStat {
  readonly ppid: number
  readonly state: string
  readonly start: string
}

const procStat = (pid: number): ProcStat | undefined => {
  try {
    // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
    const text = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
    return { state: fields[0] ?? "?", ppid: Number(fields[1]), start: fields[19] ?? "" }
  } catch {
    return undefined
  }
}

const commandLine = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")
  } catch {
    return ""
  }
}

/** Who launched this process, if it is one of the launchers above; undefined for a plain start. */
export const findLauncher = (env: Record<string, string | undefined>, ppid: number = process.ppid): Launcher | undefined => {
  const explicit = Number(env["CAIRN_LAUNCHER_PID"])
  if (Number.isSafeInteger(explicit) && explicit > 1) return { pid: explicit, start: procStat(explicit)?.start, what: `bin/cairn.js (pid ${explicit})` }
  if (env["npm_command"] === undefined && env["npm_lifecycle_event"] === undefined) return undefined
  let pid = ppid
  for (let depth = 0; depth < 4 && pid > 1; depth++) {
    const stat = procStat(pid)
    if (stat === undefined) break // no /proc: watch the parent
    if (/^npm\b|\bnpm-cli\.js\b|\bnpx-cli\.js\b/.test(commandLine(pid).trim())) return { pid, start: stat.start, what: `npm (pid ${pid})` }
    pid = stat.ppid
  }
  return { pid: ppid, start: procStat(ppid)?.start, what: `the parent process (pid ${ppid})` }
}

const alive = (launcher: Launcher): boolean => {
  if (launcher.start === undefined) {
    try {
      process.kill(launcher.pid, 0)
      return true
    } catch (e) {
      return (e as { code?: string }).code === "EPERM"
    }
  }
  const stat = procStat(launcher.pid)
  return stat !== undefined && stat.start === launcher.start && stat.state !== "Z"
}

/** Starts the watch when launched by npm or bin/cairn.js; returns what it watches (for the tests), or undefined. */
export const watchLauncher = (env: Record<string, string | undefined> = process.env, periodMs = 250): Launcher | undefined => {
  const launcher = findLauncher(env)
  if (launcher === undefined) return undefined
  const parent = process.ppid
  const timer = setInterval(() => {
    if (alive(launcher) && process.ppid === parent) return
    clearInterval(timer)
    process.stderr.write(`cairn: ${launcher.what}, which launched this process, is gone: shutting down\n`)
    process.kill(process.pid, "SIGTERM")
  }, periodMs)
  timer.unref() // never keeps the process alive by itself
  return launcher
}
