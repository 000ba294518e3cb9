/**
 * The data directory's lock: at most one `cairn server` uses a data
 * directory at a time, and the lock dies with its process (a crash or
 * `kill -9` never leaves a stale lock behind).
 *
 * Node has no flock(2), so on Linux the lock is a Unix socket bound in the
 * abstract namespace under a name derived from the directory's identity
 * (`\0cairn-lock-` + a hash of its device and inode numbers): bind fails
 * with EADDRINUSE while a holder lives, and the kernel frees the name when
 * the holder's process dies, however it dies. The device and inode name the
 * directory itself, so every path to it (symlinks, bind mounts) meets the
 * same lock. The holder answers each connection with its pid, so a second
 * server can name it. `DATA/LOCK` holds the pid for humans; on Linux it is
 * never trusted (a crash leaves it behind).
 *
 * Abstract names are per network namespace: servers in different network
 * namespaces (containers with their own network, `cairn jepsen`'s nodes) do
 * not see each other's lock. Elsewhere (macOS, BSDs, Windows), and where a
 * sandbox refuses the abstract socket, the lock falls back to `DATA/LOCK`
 * created exclusively and a liveness check of the pid it names: it catches
 * a second server while the first runs, but two servers started at the same
 * moment on a directory whose previous holder died can both win.
 */
import { createHash } from "node:crypto"
import { closeSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync } from "node:fs"
import { connect, createServer, type Server } from "node:net"
import { join } from "node:path"
import { Data, Effect, type Scope } from "effect"

/** Another live process holds the directory. */
export class DataDirLockedError extends Data.TaggedError("DataDirLockedError")<{
  readonly dir: string
  /** The holder's pid when it answered (or `DATA/LOCK` names a live one). */
  readonly holderPid: number | undefined
  readonly message: string
}> {}

export interface DataDirLock {
  /** How the lock is held: the kernel-released abstract socket, or the pid-file fallback. */
  readonly kind: "abstract-socket" | "pid-file"
  /** The abstract socket's name (without the leading NUL), or the pid file's path. */
  readonly name: string
  /** Why the fallback was used (undefined for the abstract socket). */
  readonly fallbackReason?: string
}

export const lockFile = (dir: string): string => join(dir, "LOCK")

/** Whether `DATA/LOCK` names this process. */
export const lockFileIsOurs = (dir: string): boolean => pidInLockFile(dir) === process.pid

/** The abstract socket name of a directory: stable for its device and inode, whatever path reaches it. */
export const lockSocketName = (dir: string): string => {
  const st = statSync(dir, { bigint: true })
  return `cairn-lock-${createHash("sha256").update(`${st.dev}:${st.ino}`).digest("hex").slice(0, 40)}`
}

const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const parsePid = (text: string): number | undefined => {
  const n = Number(text.trim())
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}

const pidInLockFile = (dir: string): number | undefined => {
  try {
    return parsePid(readFileSync(lockFile(dir), "utf8"))
  } catch {
    return undefined // no file, or unreadable: the pid is only a hint
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return codeOf(e) === "EPERM" // exists, owned by someone else
  }
}

/** Asks the holder of `name` for its pid; undefined if it does not answer within `timeoutMs` (e.g. it is stopped). */
export const askHolder = (name: string, timeoutMs = 1000): Promise<number | undefined> =>
  new Promise((resolve) => {
    let text = ""
    const socket = connect({ path: `\0${name}` })
    const done = (pid: number | undefined) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(pid)
    }
    const timer = setTimeout(() => done(undefined), timeoutMs)
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => {
      text += chunk
      if (text.includes("\n") || text.length > 32) done(parsePid(text.split("\n")[0]!))
    })
    socket.on("end", () => done(parsePid(text)))
    socket.on("error", () => done(undefined))
  })

const lockedError = (dir: string, holderPid: number | undefined) =>
  new DataDirLockedError({
    dir,
    holderPid,
    message: `the data directory ${dir} is in use by another cairn server (${holderPid === undefined ? "its pid is unknown" : `pid ${holderPid}`}); ` +
      "stop that server first, or give this one another --data-dir"
  })

type BindResult = { readonly server: Server } | { readonly error: unknown }

const bindAbstract = (name: string): Promise<BindResult> =>
  new Promise((resolve) => {
    const server = createServer((socket) => {
      socket.on("error", () => socket.destroy()) // a client that resets must not crash the node
      socket.end(`${process.pid}\n`)
      // A client that never closes its end must not hold up the release (server.close waits for connections).
      socket.setTimeout(1000, () => socket.destroy())
    })
    server.once("error", (error) => resolve({ error }))
    server.listen({ path: `\0${name}` }, () => {
      server.unref() // the lock never keeps the process alive on its own
      resolve({ server })
    })
  })

/** Writes our pid to `DATA/LOCK`; a failed write (e.g. a full disk) leaves no partial file behind. */
const writeLockFile = (dir: string, flags: "w" | "wx"): void => {
  const fd = openSync(lockFile(dir), flags, 0o644)
  try {
    writeSync(fd, `${process.pid}\n`)
  } catch (e) {
    closeSync(fd)
    unlinkSync(lockFile(dir))
    throw e
  }
  closeSync(fd)
}

/** Directories this process holds through the pid-file fallback. */
const heldHere = new Set<string>()

/** The pid-file fallback: `DATA/LOCK` created exclusively; a file naming a dead pid is taken over. */
const takePidFile = (dir: string): DataDirLockedError | undefined => {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeLockFile(dir, "wx")
      heldHere.add(realpathSync(dir))
      return undefined
    } catch (e) {
      if (codeOf(e) !== "EEXIST") throw e
    }
    const pid = pidInLockFile(dir)
    // Our own pid is a live holder only if this process holds the directory (a container's server is often pid 1 every time).
    const live = pid !== undefined && (pid === process.pid ? heldHere.has(realpathSync(dir)) : isAlive(pid))
    if (live) return lockedError(dir, pid)
    unlinkSync(lockFile(dir)) // stale: its holder is gone
  }
  return lockedError(dir, pidInLockFile(dir))
}

const releasePidFile = (dir: string): void => {
  try {
    heldHere.delete(realpathSync(dir))
    if (lockFileIsOurs(dir)) unlinkSync(lockFile(dir))
  } catch {
    // Already gone, or the directory went away: nothing left to release.
  }
}

const acquire = async (dir: string, forceFallback: boolean): Promise<{ lock: DataDirLock; server?: Server } | DataDirLockedError> => {
  let fallbackReason = forceFallback ? "the abstract socket lock is turned off" : `no abstract Unix sockets on ${process.platform}`
  if (process.platform === "linux" && !forceFallback) {
    const name = lockSocketName(dir)
    const bound = await bindAbstract(name)
    if ("server" in bound) {
      try {
        writeLockFile(dir, "w")
      } catch (e) {
        bound.server.close()
        throw e
      }
      return { lock: { kind: "abstract-socket", name }, server: bound.server }
    }
    if (codeOf(bound.error) === "EADDRINUSE") return lockedError(dir, (await askHolder(name)) ?? pidInLockFile(dir))
    fallbackReason = `cannot bind an abstract Unix socket (${bound.error instanceof Error ? bound.error.message : String(bound.error)})`
  }
  const refused = takePidFile(dir)
  if (refused !== undefined) return refused
  return { lock: { kind: "pid-file", name: lockFile(dir), fallbackReason } }
}

/**
 * Locks the directory `dir` (which must exist) until the scope closes.
 * Fails with `DataDirLockedError` while another process holds it; writes
 * nothing to the directory unless the lock is taken. Other failures (e.g.
 * `DATA/LOCK` cannot be written) are returned as `Error`s for the caller to
 * classify. `forceFallback` (tests) uses the pid file even on Linux.
 */
export const lockDataDir = (dir: string, options: { readonly forceFallback?: boolean } = {}): Effect.Effect<DataDirLock, DataDirLockedError | Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => acquire(dir, options.forceFallback === true),
      catch: (e) => (e instanceof Error ? e : new Error(String(e)))
    }).pipe(Effect.flatMap((r) => (r instanceof DataDirLockedError ? Effect.fail(r) : Effect.succeed(r)))),
    (held) =>
      Effect.promise(async () => {
        releasePidFile(dir)
        const server = held.server
        // close() frees the name at once; its callback waits for the last answer (at most 1 s) to finish.
        if (server !== undefined) await new Promise<void>((r) => server.close(() => r()))
      })
  ).pipe(Effect.map((held) => held.lock))
