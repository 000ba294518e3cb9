/**
 * Metrics of the S3 lifecycle worker (core/src/s3/lifecycle/worker.ts),
 * which runs on the Raft leader: counters of what this node's passes
 * removed, and gauges of the current pass (NaN except on the leader, so a
 * former leader's last figures do not linger).
 */
import type { LifecycleCursor } from "@cairn/core/s3/lifecycle/cursor"
import type { LifecycleStep } from "@cairn/core/s3/lifecycle/worker"
import { Counter, Gauge, type Registry } from "prom-client"
import { log } from "../log/log.ts"

export interface LifecycleMetrics {
  /** The worker's `onStep`. */
  readonly onStep: (step: LifecycleStep) => void
}

export const makeLifecycleMetrics = (registry: Registry, isLeader: () => boolean): LifecycleMetrics => {
  const registers = [registry]
  const counter = (name: string, help: string) => new Counter({ name, help, registers })
  const objects = counter("cairn_lifecycle_objects_expired_total", "Current versions this node's lifecycle passes expired (deleted, or hidden behind a delete marker in a versioned bucket)")
  const versions = counter("cairn_lifecycle_versions_expired_total", "Noncurrent versions this node's lifecycle passes removed (NoncurrentVersionExpiration)")
  const markers = counter("cairn_lifecycle_delete_markers_removed_total", "Expired object delete markers (a key's only version) this node's lifecycle passes removed")
  const uploads = counter("cairn_lifecycle_uploads_aborted_total", "Incomplete multipart uploads this node's lifecycle passes aborted (AbortIncompleteMultipartUpload)")
  const scanned = counter("cairn_lifecycle_entries_scanned_total", "Versions and uploads this node's lifecycle passes judged")
  let last: LifecycleCursor | undefined
  const leaderGauge = (name: string, help: string, read: (c: LifecycleCursor) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(isLeader() && last !== undefined ? read(last) : Number.NaN)
      }
    })
  leaderGauge("cairn_lifecycle_pass", "The number of the current (or last) lifecycle pass; NaN except on the leader", (c) => c.pass)
  leaderGauge("cairn_lifecycle_pass_done", "1 when the leader's lifecycle pass is done (the next waits its interval), 0 while it runs; NaN except on the leader", (c) => (c.done ? 1 : 0))
  leaderGauge("cairn_lifecycle_pass_entries", "Versions and uploads the current lifecycle pass has judged; NaN except on the leader", (c) => c.totals.entriesScanned)
  leaderGauge("cairn_lifecycle_pass_started_timestamp_seconds", "When the current lifecycle pass started (Unix time); NaN except on the leader", (c) => c.startedMs / 1000)
  return {
    onStep: (step) => {
      objects.inc(step.objectsExpired)
      versions.inc(step.versionsExpired)
      markers.inc(step.markersRemoved)
      uploads.inc(step.uploadsAborted)
      scanned.inc(step.entriesScanned)
      last = step.cursor
      const removed = step.objectsExpired + step.versionsExpired + step.markersRemoved + step.uploadsAborted
      if (!step.idle) {
        log(removed > 0 ? "info" : "debug", "lifecycle step", {
          pass: step.cursor.pass,
          bucket: step.cursor.bucket ?? null,
          objectsExpired: step.objectsExpired,
          versionsExpired: step.versionsExpired,
          markersRemoved: step.markersRemoved,
          uploadsAborted: step.uploadsAborted,
          passDone: step.cursor.done
        })
      }
    }
  }
}
