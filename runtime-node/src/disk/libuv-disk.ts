/**
 * The Disk service on real files through libuv (`node:fs/promises`): the
 * portable fallback beside an io_uring implementation.
 *
 * - `sync` is fdatasync: the WAL preallocates its segments, so appends do
 *   not change the file size and need no metadata flush.
 * - `syncDirectory` fsyncs the directory, which is what makes a create,
 *   rename or unlink durable on Linux file systems.
 * - `open` creates parent directories (mkdir -p, `make-directories.ts`) on demand.
 * - ENOSPC and EDQUOT become `DiskFullError`; a failed fsync becomes
 *   `DiskSyncError` (the kernel may already have dropped the dirty pages, so
 *   callers must treat the data as lost).
 */
import {
  DiskFullError,
  DiskIOError,
  DiskSyncError,
  FileExistsError,
  FileNotFoundError,
  type DiskFile,
  type DiskShape
} from "@cairn/core"
import { Effect } from "effect"
import { constants } from "node:fs"
import { open, readdir, rename, unlink, type FileHandle } from "node:fs/promises"
import { dirname, join } from "node:path"
import { makeDirectories } from "./make-directories.ts"

const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const isFull = (e: unknown) => codeOf(e) === "ENOSPC" || codeOf(e) === "EDQUOT"

export interface LibuvDiskOptions {
  /** Reported sector size (the unit the engine assumes a crash can tear). Default 4096. */
  readonly sectorSize?: number
}

/** A Disk over the directory `root` (created if missing). */
export const libuvDisk = (root: string, options: LibuvDiskOptions = {}): DiskShape => {
  const full = (path: string) => join(root, path)

  const ioError = (op: DiskIOError["op"], path: string, offset?: number) => (e: unknown) =>
    new DiskIOError({ op, path, ...(offset === undefined ? {} : { offset }), message: messageOf(e) })

  const handle = (path: string, fh: FileHandle): DiskFile => ({
    path,
    read: (offset, length) =>
      Effect.tryPromise({
        try: async () => {
          const buffer = new Uint8Array(length)
          let got = 0
          while (got < length) {
            const { bytesRead } = await fh.read(buffer, got, length - got, offset + got)
            if (bytesRead === 0) break
            got += bytesRead
          }
          return got === length ? buffer : buffer.subarray(0, got)
        },
        catch: ioError("read", path, offset)
      }),
    write: (offset, data) =>
      Effect.tryPromise({
        try: async () => {
          let done = 0
          while (done < data.length) {
            const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done)
            done += bytesWritten
          }
        },
        catch: (e) => (isFull(e) ? new DiskFullError({ path, message: messageOf(e) }) : ioError("write", path, offset)(e))
      }),
    sync: Effect.tryPromise({
      try: () => fh.datasync(),
      catch: (e) => new DiskSyncError({ path, message: messageOf(e) })
    }),
    size: Effect.tryPromise({ try: async () => (await fh.stat()).size, catch: ioError("size", path) }),
    truncate: (size) => Effect.tryPromise({ try: () => fh.truncate(size), catch: ioError("truncate", path) }),
    close: Effect.ignore(Effect.tryPromise(() => fh.close()))
  })

  const flags = {
    existing: constants.O_RDWR,
    create: constants.O_RDWR | constants.O_CREAT,
    "create-new": constants.O_RDWR | constants.O_CREAT | constants.O_EXCL
  } as const

  return {
    sectorSize: options.sectorSize ?? 4096,
    open: (path, mode) =>
      Effect.tryPromise({
        try: async () => {
          if (mode !== "existing") await makeDirectories(dirname(full(path)))
          return handle(path, await open(full(path), flags[mode], 0o644))
        },
        catch: (e) => {
          const code = codeOf(e)
          if (code === "ENOENT") return new FileNotFoundError({ path })
          if (code === "EEXIST") return new FileExistsError({ path })
          if (isFull(e)) return new DiskFullError({ path, message: messageOf(e) })
          return ioError("open", path)(e)
        }
      }),
    remove: (path) =>
      Effect.tryPromise({
        try: () => unlink(full(path)),
        catch: (e) => (codeOf(e) === "ENOENT" ? new FileNotFoundError({ path }) : ioError("remove", path)(e))
      }),
    rename: (from, to) =>
      Effect.tryPromise({
        try: async () => {
          await makeDirectories(dirname(full(to)))
          await rename(full(from), full(to))
        },
        catch: (e) => (codeOf(e) === "ENOENT" ? new FileNotFoundError({ path: from }) : ioError("rename", from)(e))
      }),
    list: (dir) =>
      Effect.tryPromise({
        try: async () => {
          try {
            const entries = await readdir(full(dir), { withFileTypes: true })
            return entries.filter((d) => d.isFile()).map((d) => d.name).sort()
          } catch (e) {
            if (codeOf(e) === "ENOENT") return []
            throw e
          }
        },
        catch: ioError("list", dir)
      }),
    syncDirectory: (dir) =>
      Effect.tryPromise({
        try: async () => {
          let fh: FileHandle
          try {
            fh = await open(full(dir), constants.O_RDONLY | constants.O_DIRECTORY)
          } catch (e) {
            if (codeOf(e) === "ENOENT") return // nothing was ever created there
            throw e
          }
          try {
            await fh.sync()
          } finally {
            await fh.close()
          }
        },
        catch: (e) => new DiskSyncError({ path: dir, message: messageOf(e) })
      })
  }
}
