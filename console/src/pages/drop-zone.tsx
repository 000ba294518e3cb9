/**
 * Upload by drag and drop (or the file picker, for keyboards and phones),
 * each file to `<prefix><file name>`, one at a time, with a progress bar
 * per file. A failed file says why and leaves nothing behind (upload.ts).
 */
import { useState } from "preact/hooks"
import { upload } from "../api/upload.ts"
import { formatBytes } from "../format.ts"
import { messageOf } from "../messages.tsx"

interface Job {
  readonly name: string
  readonly sent: number
  readonly total: number
  readonly state: "uploading" | "done" | "failed"
  readonly error?: string
}

export const DropZone = ({ bucket, prefix, onUploaded }: { readonly bucket: string; readonly prefix: string; readonly onUploaded: () => void }) => {
  const [jobs, setJobs] = useState<ReadonlyArray<Job>>([])
  const [over, setOver] = useState(false)

  const update = (name: string, change: Partial<Job>) => setJobs((all) => all.map((j) => (j.name === name ? { ...j, ...change } : j)))

  const start = async (files: ReadonlyArray<File>) => {
    setJobs((all) => [...all.filter((j) => j.state === "uploading"), ...files.map((f): Job => ({ name: prefix + f.name, sent: 0, total: f.size, state: "uploading" }))])
    for (const file of files) {
      const key = prefix + file.name
      try {
        await upload(bucket, key, file, (sent, total) => update(key, { sent, total }), new AbortController().signal)
        update(key, { state: "done" })
      } catch (e) {
        update(key, { state: "failed", error: messageOf(e) })
      }
      onUploaded()
    }
  }

  const onDrop = (e: DragEvent) => {
    e.preventDefault()
    setOver(false)
    const files = [...(e.dataTransfer?.files ?? [])]
    if (files.length > 0) void start(files)
  }

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
      {jobs.length === 0 ? null : (
        <ul class="uploads" aria-label="Uploads">
          {jobs.map((j) => (
            <li key={j.name} class={j.state}>
              <span class="upload-name">{j.name}</span>
              <progress max={j.total || 1} value={j.sent} aria-label={`Upload of ${j.name}`} />
              <span class="upload-state" role={j.state === "failed" ? "alert" : undefined}>
                {j.state === "uploading"
                  ? `${formatBytes(j.sent)} of ${formatBytes(j.total)}`
                  : j.state === "done"
                  ? `Uploaded ${formatBytes(j.total)}`
                  : `Failed: ${j.error ?? ""}`}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
