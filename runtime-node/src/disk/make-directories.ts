/**
 * `mkdir -p` that always ends. Node's `mkdir(path, { recursive: true })`
 * (sync and async, Node 20 to 24) loops forever when mkdir answers ENOENT
 * although the parent exists, which is what /proc and /sys do: it creates
 * the parent (EEXIST), retries the child (ENOENT), and so on, at full CPU;
 * the sync form also blocks the event loop, so SIGTERM is never handled.
 * Here each level is retried at most once after its parent exists, so an
 * ENOENT from a file system that refuses new directories is final.
 *
 * Both forms return the first directory they created (undefined if the
 * directory already existed), like Node's recursive mkdir, so callers can
 * fsync the parents of what was created.
 */
import { mkdirSync, statSync } from "node:fs"
import { mkdir, stat } from "node:fs/promises"
import { dirname } from "node:path"

const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const notADirectory = (path: string): Error =>
  Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), { code: "ENOTDIR", path })

/** mkdir -p `dir`; throws the failing mkdir's error (ENOENT, EACCES, EROFS, ENOTDIR...) instead of retrying. */
export const makeDirectoriesSync = (dir: string): string | undefined => {
  try {
    mkdirSync(dir)
    return dir
  } catch (e) {
    if (codeOf(e) === "EEXIST") {
      if (statSync(dir).isDirectory()) return undefined
      throw notADirectory(dir)
    }
    if (codeOf(e) !== "ENOENT" || dirname(dir) === dir) throw e
  }
  const first = makeDirectoriesSync(dirname(dir))
  try {
    mkdirSync(dir) // an ENOENT now, with the parent in place, is the file system refusing: final
  } catch (e) {
    if (codeOf(e) !== "EEXIST" || !statSync(dir).isDirectory()) throw e
    return first
  }
  return first ?? dir
}

/** The async form of {@link makeDirectoriesSync}. */
export const makeDirectories = async (dir: string): Promise<string | undefined> => {
  try {
    await mkdir(dir)
    return dir
  } catch (e) {
    if (codeOf(e) === "EEXIST") {
      if ((await stat(dir)).isDirectory()) return undefined
      throw notADirectory(dir)
    }
    if (codeOf(e) !== "ENOENT" || dirname(dir) === dir) throw e
  }
  const first = await makeDirectories(dirname(dir))
  try {
    await mkdir(dir)
  } catch (e) {
    if (codeOf(e) !== "EEXIST" || !(await stat(dir)).isDirectory()) throw e
    return first
  }
  return first ?? dir
}
