/**
 * What this node's data takes on disk: the filesystem holding the data
 * directory (statfs: size and the space left for unprivileged writers) and
 * the bytes and files of one of its subdirectories (a walk with one lstat
 * per file: the shard directory holds one file per shard, so this is the
 * costly one, and callers cache it).
 */
import type { Dirent } from "node:fs"
import { lstat, opendir, statfs } from "node:fs/promises"
import { join } from "node:path"

export interface FilesystemSpace {
  readonly sizeBytes: number
  /** Free to a non-root writer (`f_bavail`): what the server can still use. */
  readonly availableBytes: number
}

export const filesystemSpace = async (path: string): Promise<FilesystemSpace> => {
  const s = await statfs(path)
  return { sizeBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize }
}

export interface DirectoryUsage {
  /** Apparent size (st_size) of every regular file below the directory. */
  readonly bytes: number
  /** Regular files whose name ends with the suffix asked for. */
  readonly files: number
}

/** Walks `dir` (depth-first); a directory that does not exist yet counts as empty. */
export const directoryUsage = async (dir: string, suffix = ""): Promise<DirectoryUsage> => {
  let bytes = 0
  let files = 0
  const walk = async (path: string): Promise<void> => {
    let entries: AsyncIterable<Dirent>
    try {
      entries = await opendir(path)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return
      throw e
    }
    for await (const entry of entries) {
      const child = join(path, entry.name)
      if (entry.isDirectory()) await walk(child)
      else if (entry.isFile()) {
        // A file removed between the listing and the lstat (a GC'd shard, a WAL segment) is simply gone.
        const size = await lstat(child).then((s) => s.size, (e: NodeJS.ErrnoException) => {
          if (e.code === "ENOENT") return undefined
          throw e
        })
        if (size === undefined) continue
        bytes += size
        if (entry.name.endsWith(suffix)) files++
      }
    }
  }
  await walk(dir)
  return { bytes, files }
}
