/**
 * Writing a small file so that a crash leaves either the old file or the
 * new one, never a torn mix: temp file, write, fsync, rename, directory
 * fsync (mode 0600, as the files written this way are secrets or the
 * directory's own format record).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs"
import { join } from "node:path"

/** Replaces `dir/name` with `text` atomically and durably; throws the errno error of the step that failed. */
export const writeDurably = (dir: string, name: string, text: string): void => {
  mkdirSync(dir, { recursive: true })
  const tmp = join(dir, `${name}.tmp`)
  const fd = openSync(tmp, "w", 0o600)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, join(dir, name))
  const dfd = openSync(dir, "r")
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}
