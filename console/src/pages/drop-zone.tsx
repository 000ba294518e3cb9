/**
 * Upload by drag and drop (or the file picker, for keyboards and phones),
 * each file to `<prefix><file name>`, one file at a time (its parts four at
 * a time), with a progress bar and a Cancel button per file. A broken
 * connection pauses the file with a Resume button; a failed or cancelled
 * file says so and leaves nothing behind (upload.ts). Uploads paused in an
 * earlier visit are listed: choosing the same file again resumes one,
 * Discard aborts it on the node.
 */
import { useEffect, useRef, useState } from "preact/hooks"
import { pausedUploads } from "../api/paused-uploads.ts"
import { abortUpload, upload, UploadCancelled, UploadPaused } from "../api/upload.ts"
import { type PausedUpload, resumes } from "../api/upload-plan.ts"
import { formatBytes } from "../format.ts"
import { messageOf } from "../messages.tsx"
import { type Job, UploadList } from "./upload-list.tsx"


let nextJobId = 1

export const DropZone = ({ bucket, prefix, onUploaded }: { readonly bucket: string; readonly prefix: string; readonly onUploaded: () => void }) => {
  const [jobs, setJobs] = useState<ReadonlyArray<Job>>([])
  const [over, setOver] = useState(false)
  const [earlier, setEarlier] = useState<ReadonlyArray<PausedUpload>>([])
  const controllers = useRef(new Map<number, AbortController>())
  const busy = jobs.some((j) => j.state === "uploading")

  const refreshEarlier = () => setEarlier(pausedUploads().filter((u) => u.bucket === bucket))
  useEffect(refreshEarlier, [bucket])
  // Leaving the page mid-upload would cut it off: the browser asks first.
  useEffect(() => {
    if (!busy) return
    const warn = (e: BeforeUnloadEvent) => e.preventDefault()
    addEventListener("beforeunload", warn)
    return () => removeEventListener("beforeunload", warn)
  }, [busy])

  const update = (id: number, change: Partial<Job>) => setJobs((all) => all.map((j) => (j.id === id ? { ...j, ...change } : j)))

  /** Runs one job to its end: done, paused, cancelled or failed. */
  const run = async (job: Job, resumeId: string | undefined) => {
    const controller = new AbortController()
    controllers.current.set(job.id, controller)
    update(job.id, { state: "uploading", error: undefined })
    try {
      await upload(bucket, job.key, job.file, (sent, total) => update(job.id, { sent, total }), controller.signal, resumeId)
      update(job.id, { state: "done" })
    } catch (e) {
      if (e instanceof UploadPaused) update(job.id, { state: "paused", error: e.message, ...(e.uploadId === undefined ? {} : { uploadId: e.uploadId }) })
      else if (e instanceof UploadCancelled) update(job.id, { state: "cancelled", error: e.message })
      else update(job.id, { state: "failed", error: messageOf(e) })
    } finally {
      controllers.current.delete(job.id)
      refreshEarlier()
    }
    onUploaded()
  }

  const start = async (files: ReadonlyArray<File>) => {
    const fresh = files.map((file): Job => ({ id: nextJobId++, key: prefix + file.name, file, sent: 0, total: file.size, state: "uploading" }))
    setJobs((all) => [...all.filter((j) => j.state === "uploading" || j.state === "paused"), ...fresh])
    for (const job of fresh) {
      // The same file chosen again for the same key goes on where an earlier visit paused; another file replaces that upload.
      const remembered = pausedUploads().find((u) => u.bucket === bucket && u.key === job.key)
      const resumeId = remembered !== undefined && resumes(remembered, bucket, job.key, job.file) ? remembered.uploadId : undefined
      if (remembered !== undefined && resumeId === undefined) await abortUpload(bucket, remembered.key, remembered.uploadId).catch(() => undefined)
      await run(job, resumeId)
    }
  }

  const cancel = async (job: Job) => {
    const controller = controllers.current.get(job.id)
    if (controller !== undefined) return controller.abort()
    try {
      if (job.uploadId !== undefined) await abortUpload(bucket, job.key, job.uploadId)
      update(job.id, { state: "cancelled", error: "the upload was cancelled; nothing of it was kept" })
    } catch (e) {
      update(job.id, { error: `cancelling failed: ${messageOf(e)}` })
    }
    refreshEarlier()
  }

  const discard = async (paused: PausedUpload) => {
    await abortUpload(bucket, paused.key, paused.uploadId).catch(() => undefined)
    refreshEarlier()
  }

  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    setOver(false)
    const files = [...(e.dataTransfer?.files ?? [])]
    if (files.length > 0) void start(files)
  }
  // An upload of this page's own list is not listed again as one of an earlier visit.
  const active = new Set(jobs.filter((j) => j.state === "uploading" || j.state === "paused").map((j) => j.key))
  const fromBefore = earlier.filter((u) => !active.has(u.key))

  return (
    <div>
      <div
        class={`drop-zone ${over ? "over" : ""}`}
        data-testid="drop-zone"
        onDragEnter={(e) => {
          e.preventDefault()
          setOver(true)
        }}
        onDragOver={(e) => e.preventDefault()}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>Drop files here to upload them to <strong>{bucket}/{prefix}</strong></p>
        <label class="button">
          Choose files…
          <input
            type="file"
            multiple
            class="visually-hidden"
            onChange={(e) => {
              const files = [...(e.currentTarget.files ?? [])]
              e.currentTarget.value = ""
              if (files.length > 0) void start(files)
            }}
          />
        </label>
      </div>
      <UploadList jobs={jobs} onResume={(j) => void run(j, j.uploadId)} onCancel={(j) => void cancel(j)} />
      {fromBefore.length === 0 ? null : (
        <ul class="uploads earlier" aria-label="Paused uploads">
          {fromBefore.map((u) => (
            <li key={u.uploadId}>
              <span class="upload-name">{u.key}</span>
              <span>
                {formatBytes(u.file.size)}, started {new Date(u.startedMs).toLocaleString()}: choose <strong>{u.file.name}</strong> again to resume it
              </span>
              <button type="button" onClick={() => void discard(u)} aria-label={`Discard the paused upload of ${u.key}`}>Discard</button>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
