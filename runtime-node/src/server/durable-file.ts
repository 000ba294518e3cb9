/**
 * Writing a small file so that a crash leaves either the old file or the
 * new one, never a torn mix: temp file, write, fsync, rename, directory
 * fsync (mode 0600, as the files written this way are secrets or the
 * directory's own format record).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs"
import { join } from "node:path"

/** Replaces `dir/name` with `contents` atomically and durably; throws the errno error of the step that failed. */
export const writeDurably = (dir: string, name: string, contents: string | Uint8Array): void => {
  mkdirSync(dir, { recursive: true })
  const tmp = join(dir, `${name}.tmp`)
  const fd = openSync(tmp, "w", 0o600)
  try {
    const bytes = typeof contents === "string" ? new TextEncoder().encode(contents) : contents
    // writeSync may write less than asked (a large backup file): loop until every byte is out.
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done)
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
