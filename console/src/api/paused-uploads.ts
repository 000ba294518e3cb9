/**
 * Paused multipart uploads remembered in the browser's localStorage, so
 * that after a reload (or a crash of the tab) choosing the same file again
 * resumes the upload instead of starting it over. Only the upload's id and
 * the file's name, size and modification time are kept, never its bytes.
 * An upload never resumed stays on the node until it is discarded here or
 * a lifecycle rule's AbortIncompleteMultipartUpload removes it.
 */
import type { PausedUpload } from "./upload-plan.ts"

const STORAGE_KEY = "cairn-console-paused-uploads"

const isPaused = (v: unknown): v is PausedUpload => {
  if (typeof v !== "object" || v === null) return false
  const r = v as Record<string, unknown>
  const file = r["file"] as Record<string, unknown> | null | undefined
  return typeof r["bucket"] === "string" && typeof r["key"] === "string" && typeof r["uploadId"] === "string" && typeof r["partSize"] === "number" &&
    typeof r["startedMs"] === "number" && typeof file === "object" && file !== null && typeof file["name"] === "string" &&
    typeof file["size"] === "number" && typeof file["lastModified"] === "number"
}

/** Every remembered upload; what is not one (an older page's format, a hand edit) is left out. */
export const pausedUploads = (): ReadonlyArray<PausedUpload> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "[]")
  } catch {
    // Not JSON: nothing usable is remembered; the next write replaces it.
    return []
  }
  return Array.isArray(parsed) ? parsed.filter(isPaused) : []
}

const store = (all: ReadonlyArray<PausedUpload>): void => localStorage.setItem(STORAGE_KEY, JSON.stringify(all))

/** Remembers `upload`, replacing any other remembered for the same bucket and key. */
export const rememberUpload = (upload: PausedUpload): void =>
  store([...pausedUploads().filter((u) => !(u.bucket === upload.bucket && u.key === upload.key)), upload])

export const forgetUpload = (uploadId: string): void => store(pausedUploads().filter((u) => u.uploadId !== uploadId))
