/**
 * The Disk service: files with explicit durability.
 *
 * The contract the simulator enforces (and real disks honour at best):
 * - A write or truncate is volatile until the file is synced. A crash may drop
 *   or tear any unsynced write at `sectorSize` granularity.
 * - Creating, renaming or removing a file is volatile until its directory is
 *   synced with `syncDirectory`.
 * - A failed sync (`DiskSyncError`) means the unsynced data is gone; do not
 *   retry the sync and assume it landed.
 * - Reads may fail (`DiskIOError`) or return corrupted bytes: checksum
 *   everything you read back.
 * - Writes may fail, and the disk may be full (`DiskFullError`).
 *
 * Paths are `/`-separated and relative to the node's data directory. Parent
 * directories are created on demand.
 */
import { Context, type Effect } from "effect"
import type { DiskFullError, DiskIOError, DiskSyncError, FileExistsError, FileNotFoundError } from "./disk-error.ts"

/** How `open` treats a missing or existing file. */
export type OpenMode =
  /** The file must exist. */
  | "existing"
  /** Create the file if missing (volatile until the directory is synced). */
  | "create"
  /** The file must not exist yet. */
  | "create-new"

/** An open file. Handles die with their node: after a crash, reopen. */
export interface DiskFile {
  readonly path: string
  /** Reads up to `length` bytes at `offset`; fewer only at the end of the file. */
  readonly read: (offset: number, length: number) => Effect.Effect<Uint8Array, DiskIOError>
  /** Writes `data` at `offset`, extending the file if needed. Volatile until `sync`. */
  readonly write: (offset: number, data: Uint8Array) => Effect.Effect<void, DiskIOError | DiskFullError>
  /** Makes every earlier write and truncate of this file durable. */
  readonly sync: Effect.Effect<void, DiskSyncError>
  /** The file's current (possibly volatile) size in bytes. */
  readonly size: Effect.Effect<number, DiskIOError>
  /** Sets the size; volatile until `sync`. */
  readonly truncate: (size: number) => Effect.Effect<void, DiskIOError>
  /** Releases the handle. Does not sync. */
  readonly close: Effect.Effect<void>
}

export interface DiskShape {
  /** The unit of atomicity: a crash tears unsynced writes at this granularity. */
  readonly sectorSize: number
  readonly open: (
    path: string,
    mode: OpenMode
  ) => Effect.Effect<DiskFile, FileNotFoundError | FileExistsError | DiskIOError | DiskFullError>
  /** Removes a file; volatile until the directory is synced. */
  readonly remove: (path: string) => Effect.Effect<void, FileNotFoundError | DiskIOError>
  /** Atomically replaces `to` with `from`; volatile until the directory is synced. */
  readonly rename: (from: string, to: string) => Effect.Effect<void, FileNotFoundError | DiskIOError>
  /** Names of the files directly inside `dir`, sorted. Empty if `dir` has none. */
  readonly list: (dir: string) => Effect.Effect<ReadonlyArray<string>, DiskIOError>
  /** Makes the creations, renames and removals inside `dir` durable. */
  readonly syncDirectory: (dir: string) => Effect.Effect<void, DiskSyncError>
}

export class Disk extends Context.Service<Disk, DiskShape>()("cairn/Disk") {}

/** The directory part of a path: `"wal/0001.seg"` → `"wal"`, `"a"` → `""`. */
export const directoryOf = (path: string): string => {
  const slash = path.lastIndexOf("/")
  return slash < 0 ? "" : path.slice(0, slash)
}

/** The last component of a path: `"wal/0001.seg"` → `"0001.seg"`. */
export const baseNameOf = (path: string): string => path.slice(path.lastIndexOf("/") + 1)
