/**
 * Why the data directory cannot be used at start, as one line and an exit
 * code (see data-dir.ts): 2 when the operator must change something, 1
 * when the environment failed and a later restart may succeed.
 */
import { Data } from "effect"

/** The data directory is unusable; `exitCode` as in the header. */
export class DataDirError extends Data.TaggedError("DataDirError")<{
  readonly message: string
  readonly exitCode: 1 | 2
}> {}

const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const reasons: Record<string, { readonly reason: string; readonly exitCode: 1 | 2 }> = {
  ENOENT: { reason: "the file system refuses new files and directories there (as /proc and /sys do)", exitCode: 2 },
  ENOTDIR: { reason: "it, or one of its parents, is a file, not a directory", exitCode: 2 },
  EEXIST: { reason: "a file of that name exists", exitCode: 2 },
  EACCES: { reason: "permission denied", exitCode: 2 },
  EPERM: { reason: "operation not permitted", exitCode: 2 },
  EROFS: { reason: "the file system is read-only", exitCode: 2 },
  EINVAL: { reason: "the file system does not support regular files with fsync there", exitCode: 2 },
  ENOSPC: { reason: "the disk is full", exitCode: 1 },
  EDQUOT: { reason: "the disk quota is exhausted", exitCode: 1 }
}

/** One line naming the directory, what failed, and why (errno code included for searching). */
export const dataDirError = (dir: string, what: string, e: unknown): DataDirError => {
  const code = codeOf(e)
  const known = code === undefined ? undefined : reasons[code]
  const detail = known?.reason ?? (e instanceof Error ? e.message : String(e))
  return new DataDirError({ message: `data directory ${dir}: ${what}: ${detail}${code === undefined ? "" : ` (${code})`}`, exitCode: known?.exitCode ?? 1 })
}
