/**
 * The uploads of this visit, one row each: a progress bar, what happened
 * (a failure or a pause is announced), and the buttons that apply —
 * Cancel while a file is sent or paused, Resume once paused.
 */
import { formatBytes } from "../format.ts"

/** One file of this visit and where its upload stands. */
export interface Job {
  readonly id: number
  readonly key: string
  readonly file: File
  readonly sent: number
  readonly total: number
  readonly state: "uploading" | "paused" | "done" | "failed" | "cancelled"
  readonly error?: string
  /** The multipart upload a paused job resumes. */
  readonly uploadId?: string
}

const stateText = (j: Job): string => {
  switch (j.state) {
    case "uploading":
      return `${formatBytes(j.sent)} of ${formatBytes(j.total)}`
    case "done":
      return `Uploaded ${formatBytes(j.total)}`
    case "paused":
      return `Paused at ${formatBytes(j.sent)} of ${formatBytes(j.total)}: ${j.error ?? ""}. Resume when the node is reachable again.`
    case "cancelled":
      return "Cancelled: nothing of it was kept"
    case "failed":
      return `Failed: ${j.error ?? ""}`
  }
}

export const UploadList = ({ jobs, onResume, onCancel }: {
  readonly jobs: ReadonlyArray<Job>
  readonly onResume: (job: Job) => void
  readonly onCancel: (job: Job) => void
}) =>
  jobs.length === 0 ? null : (
    <ul class="uploads" aria-label="Uploads">
      {jobs.map((j) => (
        <li key={j.id} class={j.state}>
          <span class="upload-name">{j.key}</span>
          <progress max={j.total || 1} value={j.sent} aria-label={`Upload of ${j.key}`} />
          <span class="upload-state" role={j.state === "failed" || j.state === "paused" ? "alert" : undefined}>{stateText(j)}</span>
          <span class="upload-actions">
            {j.state === "paused" ? <button type="button" onClick={() => onResume(j)} aria-label={`Resume the upload of ${j.key}`}>Resume</button> : null}
            {j.state === "uploading" || j.state === "paused"
              ? <button type="button" onClick={() => onCancel(j)} aria-label={`Cancel the upload of ${j.key}`}>Cancel</button>
              : null}
          </span>
        </li>
      ))}
    </ul>
  )
