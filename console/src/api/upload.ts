/**
 * Uploads with progress, pause and cancel. `fetch` cannot report upload
 * progress, so bodies go through XMLHttpRequest. A file up to 16 MiB is one
 * PUT; a larger one is a multipart upload of 8 MiB parts (larger past
 * 78 GiB), four parts at a time. A step the cluster refuses for now (503:
 * busy, or no leader during an election) is sent again after a pause, a few
 * times.
 *
 * When the connection breaks, the upload pauses (`UploadPaused`): the parts
 * the node acknowledged stay there, and resuming asks the node which it
 * holds (ListParts) and sends only the others. The upload id is remembered
 * in the browser (paused-uploads.ts), so choosing the same file again after
 * a reload resumes too. Cancelling, or any other failure, aborts the upload
 * on the node: no partial object or orphan parts are left.
 */
import { ApiError, call, csrfHeader, errorOf } from "./client.ts"
import { forgetUpload, rememberUpload } from "./paused-uploads.ts"
import { runPool } from "./pool.ts"
import { s3Path } from "./s3.ts"
import { type AckedPart, bytesAcked, completionBody, partSizeFor, partsToSend, planParts, type PlannedPart } from "./upload-plan.ts"

export const SINGLE_PUT_LIMIT = 16 * 1024 * 1024
/** Parts sent at once: enough to fill a link, few enough not to crowd a busy node's admission queue. */
export const PARALLEL_PARTS = 4

/** Bytes sent so far of the whole file. */
export type Progress = (sent: number, total: number) => void

/** The connection broke: what the node acknowledged is kept, and the upload can be resumed. */
export class UploadPaused extends Error {
  /** The multipart upload to resume; undefined when nothing was kept (a single PUT, or before the upload was made). */
  readonly uploadId: string | undefined
  constructor(uploadId: string | undefined, message: string) {
    super(message)
    this.uploadId = uploadId
  }
}

/** The person cancelled: the upload was aborted on the node. */
export class UploadCancelled extends Error {}

/** A request that got no answer: the connection broke or could not be made. */
class ConnectionBroke extends Error {}

const BROKE = "the connection to the node broke during the upload"

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
    if (signal.aborted) return reject(new UploadCancelled("the upload was cancelled"))
    const xhr = new XMLHttpRequest()
    xhr.open(method, url)
    for (const [name, value] of Object.entries({ ...headers, ...csrfHeader() })) xhr.setRequestHeader(name, value)
    xhr.upload.onprogress = (e) => onBytes(e.loaded)
    xhr.onload = () => resolve({ status: xhr.status, etag: xhr.getResponseHeader("etag"), retryAfter: xhr.getResponseHeader("retry-after"), text: xhr.responseText })
    xhr.onerror = () => reject(new ConnectionBroke(BROKE))
    xhr.onabort = () => reject(new UploadCancelled("the upload was cancelled"))
    signal.addEventListener("abort", () => xhr.abort(), { once: true })
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
const uploadUrl = (bucket: string, key: string, uploadId: string, extra = ""): string => `${s3Path(bucket, key)}?uploadId=${encodeURIComponent(uploadId)}${extra}`
const xmlText = (el: Element | Document, name: string): string => el.getElementsByTagName(name)[0]?.textContent ?? ""

/** The parts the node holds of an upload (ListParts, page by page); undefined when the upload is gone (aborted, or removed by lifecycle). */
export const listUploadedParts = async (bucket: string, key: string, uploadId: string): Promise<ReadonlyArray<AckedPart> | undefined> => {
  const parts: Array<AckedPart> = []
  for (let marker = 0; ;) {
    let doc: Document
    try {
      doc = new DOMParser().parseFromString(await (await call("GET", uploadUrl(bucket, key, uploadId, `&part-number-marker=${marker}`))).text(), "application/xml")
    } catch (e) {
      if (e instanceof ApiError && e.code === "NoSuchUpload") return undefined
      if (e instanceof ApiError && e.code === "network") throw new ConnectionBroke(e.message)
      throw e
    }
    for (const p of doc.getElementsByTagName("Part")) {
      parts.push({ partNumber: Number(xmlText(p, "PartNumber")), size: Number(xmlText(p, "Size")), etag: xmlText(p, "ETag") })
    }
    if (xmlText(doc, "IsTruncated") !== "true") return parts
    marker = Number(xmlText(doc, "NextPartNumberMarker"))
  }
}

/** Aborts a multipart upload on the node (its parts are dropped) and forgets it here; one already gone counts as done. */
export const abortUpload = async (bucket: string, key: string, uploadId: string): Promise<void> => {
  try {
    await call("DELETE", uploadUrl(bucket, key, uploadId))
  } catch (e) {
    if (!(e instanceof ApiError && e.code === "NoSuchUpload")) throw e
  }
  forgetUpload(uploadId)
}

/** An existing upload to go on with (its acknowledged parts), or a new one, remembered at once so that a reload can resume it. */
const openUpload = async (bucket: string, key: string, file: File, resumeId: string | undefined, signal: AbortSignal): Promise<{ readonly uploadId: string; readonly acked: ReadonlyArray<AckedPart> }> => {
  if (resumeId !== undefined) {
    const acked = await listUploadedParts(bucket, key, resumeId)
    if (acked !== undefined) return { uploadId: resumeId, acked }
    forgetUpload(resumeId)
  }
  const created = await ok(await sendRetrying("POST", `${s3Path(bucket, key)}?uploads`, "", contentType(file), () => {}, signal))
  const uploadId = xmlText(new DOMParser().parseFromString(created.text, "application/xml"), "UploadId")
  if (uploadId === "") throw new Error("the node did not return an upload id")
  rememberUpload({ bucket, key, uploadId, file: { name: file.name, size: file.size, lastModified: file.lastModified }, partSize: partSizeFor(file.size), startedMs: Date.now() })
  return { uploadId, acked: [] }
}

/** Sends the parts not yet on the node, `PARALLEL_PARTS` at a time; resolves with every part acknowledged. */
const sendParts = async (bucket: string, key: string, uploadId: string, file: File, plan: ReadonlyArray<PlannedPart>, held: ReadonlyArray<AckedPart>, progress: Progress, signal: AbortSignal): Promise<ReadonlyArray<AckedPart>> => {
  const acked = [...held]
  const base = bytesAcked(plan, held)
  const inFlight = new Map<number, number>()
  const report = () => progress(base + [...inFlight.values()].reduce((a, b) => a + b, 0), file.size)
  await runPool(partsToSend(plan, held), PARALLEL_PARTS, async (part) => {
    const size = part.end - part.start
    const onBytes = (loaded: number) => {
      inFlight.set(part.partNumber, Math.min(loaded, size))
      report()
    }
    try {
      const sent = await ok(await sendRetrying("PUT", uploadUrl(bucket, key, uploadId, `&partNumber=${part.partNumber}`), file.slice(part.start, part.end), {}, onBytes, signal))
      acked.push({ partNumber: part.partNumber, size, etag: sent.etag ?? "" })
      onBytes(size)
    } catch (e) {
      inFlight.delete(part.partNumber)
      report()
      throw e
    }
  })
  return acked
}

const multipart = async (bucket: string, key: string, file: File, progress: Progress, signal: AbortSignal, resumeId: string | undefined): Promise<void> => {
  const plan = planParts(file.size)
  let opened: { readonly uploadId: string; readonly acked: ReadonlyArray<AckedPart> }
  try {
    opened = await openUpload(bucket, key, file, resumeId, signal)
  } catch (e) {
    // Nothing new was made: a resumed upload keeps its id, to be tried again.
    if (e instanceof ConnectionBroke) throw new UploadPaused(resumeId, `${e.message}; nothing more was sent`)
    throw e
  }
  const { uploadId } = opened
  let acked = opened.acked
  try {
    acked = await sendParts(bucket, key, uploadId, file, plan, acked, progress, signal)
    const done = await ok(await sendRetrying("POST", uploadUrl(bucket, key, uploadId), completionBody(plan, acked), { "content-type": "application/xml" }, () => {}, signal))
    // CompleteMultipartUpload can fail after a 200, in its body.
    if (done.text.includes("<Error>")) throw await failure({ ...done, status: 500 })
    forgetUpload(uploadId)
  } catch (e) {
    if (e instanceof ConnectionBroke && !signal.aborted) {
      const held = (await listUploadedParts(bucket, key, uploadId).catch(() => undefined)) ?? acked
      throw new UploadPaused(uploadId, `${e.message} (${plan.length - partsToSend(plan, held).length} of ${plan.length} parts are on the node)`)
    }
    // Leave nothing half-made behind. If the abort itself fails the first error is still the one reported (it is what
    // the person must act on); the parts left are listed by ListMultipartUploads and removed by lifecycle's
    // AbortIncompleteMultipartUpload.
    await abortUpload(bucket, key, uploadId).catch(() => undefined)
    throw signal.aborted ? new UploadCancelled("the upload was cancelled; nothing of it was kept") : e
  }
}

/**
 * Uploads `file` as `key`, calling `progress` as bytes leave. With `resumeId`, goes on with that multipart upload,
 * sending only the parts the node does not hold. Rejects with `UploadPaused` when the connection broke (resume by
 * calling again with its `uploadId`), `UploadCancelled` when `signal` aborted it, else an actionable error.
 */
export const upload = async (bucket: string, key: string, file: File, progress: Progress, signal: AbortSignal, resumeId?: string): Promise<void> => {
  progress(0, file.size)
  if (file.size > SINGLE_PUT_LIMIT) await multipart(bucket, key, file, progress, signal, resumeId)
  else {
    try {
      await ok(await sendRetrying("PUT", s3Path(bucket, key), file, contentType(file), (loaded) => progress(loaded, file.size), signal))
    } catch (e) {
      if (e instanceof ConnectionBroke && !signal.aborted) throw new UploadPaused(undefined, `${e.message} (a file this small is sent again whole)`)
      if (signal.aborted) throw new UploadCancelled("the upload was cancelled; nothing of it was kept")
      throw e
    }
  }
  progress(file.size, file.size)
}
