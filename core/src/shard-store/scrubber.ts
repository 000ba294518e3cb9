/**
 * The scrubber: walks every stored shard, verifies it, and reports rot
 * before a reader (or a repair that needs this copy) finds it. It reports;
 * repairing from other replicas or parity is the caller's decision.
 */
import { Effect, Result } from "effect"
import { Clock } from "../clock/clock.ts"
import type { ShardReadError, ShardStore } from "./shard-store.ts"

export interface ScrubFinding {
  readonly id: string
  /** `corrupt`: the bytes do not match their checksum; `unreadable`: the device failed the read. */
  readonly kind: "corrupt" | "unreadable"
  readonly detail: string
}

export interface ScrubReport {
  readonly checked: number
  readonly healthy: number
  readonly bytesVerified: number
  readonly findings: ReadonlyArray<ScrubFinding>
}

export interface ScrubOptions {
  /** Milliseconds to wait between shards, to leave the disk to foreground work. Default 0. */
  readonly pauseMs?: number
}

export const scrub = (store: ShardStore, options: ScrubOptions = {}): Effect.Effect<ScrubReport, ShardReadError, Clock> =>
  Effect.gen(function* () {
    const clock = yield* Clock
    const ids = yield* store.list
    const findings: Array<ScrubFinding> = []
    let healthy = 0
    let bytesVerified = 0
    for (const id of ids) {
      const r = yield* Effect.result(store.get(id))
      if (Result.isSuccess(r)) {
        healthy++
        bytesVerified += r.success.length
      } else {
        const e = r.failure
        switch (e._tag) {
          case "ShardCorruptError":
            findings.push({ id, kind: "corrupt", detail: e.reason })
            break
          case "ShardReadError":
            findings.push({ id, kind: "unreadable", detail: e.message })
            break
          case "ShardNotFoundError":
          case "ShardIdError":
            break // removed or foreign while the scrub ran
        }
      }
      if ((options.pauseMs ?? 0) > 0) yield* clock.sleep(options.pauseMs!)
    }
    return { checked: ids.length, healthy, bytesVerified, findings }
  })
