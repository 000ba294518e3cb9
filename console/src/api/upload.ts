/**
 * Uploads with progress. `fetch` cannot report upload progress, so bodies
 * go through XMLHttpRequest. A file up to 16 MiB is one PUT; a larger one is
 * a multipart upload of 8 MiB parts, one at a time. A step the cluster
 * refuses for now (503: busy, or no leader during an election) is sent
 * again after a pause, a few times; if a step still fails the upload is
 * aborted on the server so that no partial object or orphan parts are
 * left, and the error says what happened.
 */
import { csrfHeader, errorOf } from "./client.ts"
import { s3Path } from "./s3.ts"

export const SINGLE_PUT_LIMIT = 16 * 1024 * 1024
export const PART_SIZE = 8 * 1024 * 1024

/** Bytes sent so far of the whole file. */
export type Progress = (sent: number, total: number) => void

interface Sent {
  readonly status: number
  readonly etag: string | null
  readonly retryAfter: string | null
  readonly text: string
}

/** How many times a step refused with 503 is sent in all, and the pause before each retry (doubling). */
const ATTEMPTS = 5
const FIRST_PAUSE_MS = 1000

/** One request with a body, reporting its bytes as they leave. */
const send = (method: string, url: string, body: Blob | string, headers: Record<string, string>, onBytes: (loaded: number) => void, signal: AbortSignal): Promise<Sent> =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open(method, url)
    for (const [name, value] of Object.entries({ ...headers, ...csrfHeader() })) xhr.setRequestHeader(name, value)
    xhr.upload.onprogress = (e) => onBytes(e.loaded)
    xhr.onload = () => resolve({ status: xhr.status, etag: xhr.getResponseHeader("etag"), retryAfter: xhr.getResponseHeader("retry-after"), text: xhr.responseText })
    xhr.onerror = () => reject(new Error("the connection to the node broke during the upload"))
    xhr.onabort = () => reject(new Error("the upload was cancelled"))
    signal.addEventListener("abort", () => xhr.abort())
    xhr.send(body)
  })

/**
 * `send`, again while the answer is 503 (S3's SlowDown, or ServiceUnavailable while the cluster has no leader):
 * neither changed anything, so sending the same step again is safe.
 */
const sendRetrying = async (...args: Parameters<typeof send>): Promise<Sent> => {
  for (let attempt = 1; ; attempt++) {
    const sent = await send(...args)
    if (sent.status !== 503 || attempt === ATTEMPTS) return sent
    const asked = Number(sent.retryAfter ?? "")
    const pauseMs = Number.isFinite(asked) && asked > 0 ? asked * 1000 : FIRST_PAUSE_MS * 2 ** (attempt - 1)
    await new Promise((r) => setTimeout(r, pauseMs))
  }
}

/** A failed answer as the same actionable error every other call gives. */
const failure = async (sent: Sent): Promise<Error> =>
  errorOf(new Response(sent.text, { status: sent.status, headers: { "content-type": sent.text.startsWith("<") ? "application/xml" : "application/json" } }))

const ok = async (sent: Sent): Promise<Sent> => {
  if (sent.status >= 200 && sent.status < 300) return sent
  throw await failure(sent)
}

const contentType = (file: File): Record<string, string> => ({ "content-type": file.type === "" ? "application/octet-stream" : file.type })

const multipart = async (bucket: string, key: string, file: File, progress: Progress, signal: AbortSignal): Promise<void> => {
  const base = s3Path(bucket, key)
  const created = await ok(await sendRetrying("POST", `${base}?uploads`, "", contentType(file), () => {}, signal))
  const uploadId = new DOMParser().parseFromString(created.text, "application/xml").getElementsByTagName("UploadId")[0]?.textContent
  if (uploadId === null || uploadId === undefined) throw new Error("the node did not return an upload id")
  const q = (extra: string) => `${base}?uploadId=${encodeURIComponent(uploadId)}${extra}`
  try {
    const etags: Array<string> = []
    for (let offset = 0, part = 1; offset < file.size; offset += PART_SIZE, part++) {
      const chunk = file.slice(offset, Math.min(file.size, offset + PART_SIZE))
      const sent = await ok(await sendRetrying("PUT", q(`&partNumber=${part}`), chunk, {}, (loaded) => progress(offset + loaded, file.size), signal))
      etags.push(sent.etag ?? "")
    }
    const body = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</ETag></Part>`).join("")}</CompleteMultipartUpload>`
    const done = await ok(await sendRetrying("POST", q(""), body, { "content-type": "application/xml" }, () => {}, signal))
    // CompleteMultipartUpload can fail after a 200, in its body.
    if (done.text.includes("<Error>")) throw await failure({ ...done, status: 500 })
  } catch (e) {
    // Leave nothing half-made behind: the parts sent so far are dropped. If the abort itself fails the first error is still
    // the one reported (it is what the person must act on); the parts left are listed by ListMultipartUploads.
    await fetch(q(""), { method: "DELETE", headers: csrfHeader() }).catch(() => undefined)
    throw e
  }
}

/** Uploads `file` as `key`, calling `progress` as bytes leave; rejects with an actionable error. */
export const upload = async (bucket: string, key: string, file: File, progress: Progress, signal: AbortSignal): Promise<void> => {
  progress(0, file.size)
  if (file.size <= SINGLE_PUT_LIMIT) await ok(await sendRetrying("PUT", s3Path(bucket, key), file, contentType(file), (loaded) => progress(loaded, file.size), signal))
  else await multipart(bucket, key, file, progress, signal)
  progress(file.size, file.size)
}
