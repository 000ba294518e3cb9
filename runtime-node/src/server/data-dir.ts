/**
 * Opening the data directory at start: create it (a bounded mkdir -p), lock
 * it for the life of the server (`data-dir-lock.ts`), then probe it
 * (create, write, fsync and remove a file, fsync the directory) before
 * anything else is written there, check that it has room for the WAL's
 * first segments, and check its format record (`data-format.ts`: a
 * directory written by a newer Cairn is refused, exit 2). A directory that
 * cannot hold data fails here with a one-line reason instead of somewhere
 * deep in the WAL:
 *
 * - exit 2, the operator must change something (another `--data-dir`, a
 *   mount, permissions): the path is not a directory, cannot be created
 *   (e.g. inside /proc), is read-only, is not ours to write, or another
 *   server holds it;
 * - exit 1, the environment failed and a later restart may succeed: the
 *   disk is full, or another I/O error.
 */
import { closeSync, fsyncSync, openSync, rmdirSync, statfsSync, unlinkSync, writeSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { Effect, type Scope } from "effect"
import { makeDirectoriesSync } from "../disk/make-directories.ts"
import { DataDirError, dataDirError } from "./data-dir-error.ts"
import { type DataDirLock, DataDirLockedError, lockDataDir, lockFile, lockFileIsOurs } from "./data-dir-lock.ts"
import { type FormatVerdict, inspectFormat, recordFormat } from "./data-format.ts"

export { DataDirError, dataDirError } from "./data-dir-error.ts"

const PROBE_BYTES = 4096

/** Create, write, fsync and remove a file, then fsync the directory: what the WAL will need first. */
const probe = (dir: string): void => {
  const path = join(dir, ".cairn-probe")
  const fd = openSync(path, "w", 0o600)
  try {
    writeSync(fd, new Uint8Array(PROBE_BYTES))
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  unlinkSync(path)
  const dfd = openSync(dir, "r")
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

/** Two WAL segments (16 MiB each, preallocated): less free space than this fails the first writes anyway. */
export const MIN_FREE_BYTES = 32 * 1024 * 1024

/** Fails (exit 1: space may be freed) when the file system has less than `minFree` bytes available to us. */
const checkFreeSpace = (dir: string, minFree: number): Effect.Effect<void, DataDirError> =>
  Effect.try({ try: () => statfsSync(dir, { bigint: true }), catch: (e) => dataDirError(dir, "cannot read its free space", e) }).pipe(
    Effect.flatMap((fs) => {
      const free = fs.bavail * fs.bsize
      if (free >= BigInt(minFree)) return Effect.void
      const message = `data directory ${dir}: the disk is nearly full: ${Number(free / 1024n)} KiB free, a node needs ${minFree / 1024 / 1024} MiB to start (its WAL preallocates 16 MiB segments)`
      return Effect.fail(new DataDirError({ message, exitCode: 1 }))
    })
  )

export interface OpenDataDir {
  /** The absolute path. */
  readonly dir: string
  readonly lock: DataDirLock
  /** What FORMAT said (data-format.ts): a fresh directory, an older known version, ... */
  readonly format: FormatVerdict
}

/**
 * Creates, locks (until the scope closes) and probes the data directory.
 * Nothing is written to it before the lock is held.
 */
export const openDataDir = (path: string, options: { readonly forceLockFallback?: boolean; readonly minFreeBytes?: number } = {}): Effect.Effect<OpenDataDir, DataDirError, Scope.Scope> => {
  const dir = resolve(path)
  let created: string | undefined
  return Effect.gen(function*() {
    created = yield* Effect.try({ try: () => makeDirectoriesSync(dir), catch: (e) => dataDirError(dir, "cannot create it", e) })
    const lock = yield* lockDataDir(dir, { forceFallback: options.forceLockFallback === true }).pipe(
      Effect.mapError((e) => e instanceof DataDirLockedError ? new DataDirError({ message: e.message, exitCode: 2 }) : dataDirError(dir, "cannot take its lock (writing LOCK)", e))
    )
    // A directory written by a newer Cairn is refused before anything reads or writes its data.
    const format = yield* inspectFormat(dir)
    yield* Effect.try({ try: () => probe(dir), catch: (e) => dataDirError(dir, "cannot write a file and fsync it", e) })
    yield* checkFreeSpace(dir, options.minFreeBytes ?? MIN_FREE_BYTES)
    yield* recordFormat(dir, format)
    return { dir, lock, format }
  }).pipe(Effect.tapError(() => Effect.sync(() => removeCreated(dir, created))))
}

/** After a failed start, removes the directories this start created (`dir` up to `first`), if they are still empty. */
const removeCreated = (dir: string, first: string | undefined): void => {
  if (first === undefined) return
  try {
    if (lockFileIsOurs(dir)) unlinkSync(lockFile(dir))
  } catch {
    // not written
  }
  for (let d = dir; ; d = dirname(d)) {
    try {
      rmdirSync(d) // fails, and so stops, on a directory that is not empty
    } catch {
      return
    }
    if (d === first || dirname(d) === d) return
  }
}
