/**
 * A fault-free in-memory disk: every write is durable at once, nothing fails
 * except by the contract's own rules (missing files, existing files).
 */
import {
  directoryOf,
  type DiskFile,
  type DiskShape,
  FileExistsError,
  FileNotFoundError
} from "@cairn/core"
import { Effect } from "effect"

interface Inode {
  bytes: Uint8Array
  size: number
}

export interface InMemoryDisk extends DiskShape {
  /** The current bytes of a file, for test assertions. */
  readonly contents: (path: string) => Uint8Array | undefined
}

export const inMemoryDisk = (sectorSize = 4096): InMemoryDisk => {
  const files = new Map<string, Inode>()

  const handle = (path: string, inode: Inode): DiskFile => ({
    path,
    read: (offset, length) =>
      Effect.sync(() => inode.bytes.slice(Math.min(offset, inode.size), Math.min(offset + length, inode.size))),
    write: (offset, data) =>
      Effect.sync(() => {
        const end = offset + data.length
        if (end > inode.bytes.length) {
          const grown = new Uint8Array(Math.max(end, inode.bytes.length * 2))
          grown.set(inode.bytes.subarray(0, inode.size))
          inode.bytes = grown
        }
        inode.bytes.set(data, offset)
        inode.size = Math.max(inode.size, end)
      }),
    sync: Effect.void,
    size: Effect.sync(() => inode.size),
    truncate: (size) =>
      Effect.sync(() => {
        if (size < inode.size) inode.bytes.fill(0, size, inode.size)
        if (size > inode.bytes.length) {
          const grown = new Uint8Array(size)
          grown.set(inode.bytes.subarray(0, inode.size))
          inode.bytes = grown
        }
        inode.size = size
      }),
    close: Effect.void
  })

  return {
    sectorSize,
    open: (path, mode) =>
      Effect.suspend((): Effect.Effect<DiskFile, FileExistsError | FileNotFoundError> => {
        const existing = files.get(path)
        if (existing !== undefined) {
          return mode === "create-new" ? Effect.fail(new FileExistsError({ path })) : Effect.succeed(handle(path, existing))
        }
        if (mode === "existing") return Effect.fail(new FileNotFoundError({ path }))
        const inode: Inode = { bytes: new Uint8Array(0), size: 0 }
        files.set(path, inode)
        return Effect.succeed(handle(path, inode))
      }),
    remove: (path) =>
      Effect.suspend(() => (files.delete(path) ? Effect.void : Effect.fail(new FileNotFoundError({ path })))),
    rename: (from, to) =>
      Effect.suspend(() => {
        const inode = files.get(from)
        if (inode === undefined) return Effect.fail(new FileNotFoundError({ path: from }))
        files.delete(from)
        files.set(to, inode)
        return Effect.void
      }),
    list: (dir) =>
      Effect.sync(() =>
        [...files.keys()].filter((p) => directoryOf(p) === dir).map((p) => p.slice(dir === "" ? 0 : dir.length + 1)).sort()
      ),
    syncDirectory: () => Effect.void,
    contents: (path) => {
      const inode = files.get(path)
      return inode === undefined ? undefined : inode.bytes.slice(0, inode.size)
    }
  }
}
