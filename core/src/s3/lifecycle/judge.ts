/**
 * The lifecycle judge: what AWS's rules do to one entry of a bucket's
 * version listing (keys ascending, each key's versions newest first), as
 * a pure function of the rules, the entry, the time and what was seen of
 * the key's newer versions.
 *
 * - A current version (not a delete marker) is due at its creation plus
 *   `Expiration.Days` (rounded up to midnight UTC, dates.ts) or on
 *   `Expiration.Date`: "expire-current".
 * - A noncurrent version became noncurrent when the next newer version of
 *   its key was created; it is due `NoncurrentDays` after that, unless it
 *   is among the `NewerNoncurrentVersions` newest noncurrent ones:
 *   "remove-version".
 * - A current delete marker is an "expired object delete marker" when it
 *   is the key's only version; it goes when a rule says
 *   `ExpiredObjectDeleteMarker` or its `Expiration.Days` have passed since
 *   the marker was written (AWS removes such markers with Days rules too).
 *   Whether it is alone is not known from one entry: "remove-marker-if-sole"
 *   asks the worker to check.
 */
import { DAY_MS, dueAfterDays } from "./dates.ts"
import { currentExpiry, rulesFor, subjectOf } from "./match.ts"
import type { LifecycleRule } from "./rules.ts"
import type { VersionInfo } from "../../object/object-api.ts"

/** What the judge remembers of the key the listing is in. */
export interface KeyState {
  readonly key: string
  /** Creation time of the last (newer) version seen: when the next one became noncurrent. */
  readonly newerCreatedMs: number
  /** Noncurrent versions of the key seen so far (all newer than the next one). */
  readonly noncurrentSeen: number
}

export type Verdict =
  | { readonly action: "keep" }
  | { readonly action: "expire-current"; readonly ruleId: string }
  | { readonly action: "remove-version"; readonly ruleId: string }
  | { readonly action: "remove-marker-if-sole"; readonly ruleId: string }

export interface JudgeInput {
  readonly rules: ReadonlyArray<LifecycleRule>
  readonly entry: VersionInfo
  /** undefined when the entry is the first seen of its key. */
  readonly state: KeyState | undefined
  readonly nowMs: number
  readonly dayMs?: number
}

const keep: Verdict = { action: "keep" }

const judgeMarker = (input: JudgeInput): Verdict => {
  const { entry, nowMs } = input
  for (const rule of rulesFor(input.rules, subjectOf(entry))) {
    const e = rule.expiration
    if (e?.expiredObjectDeleteMarker === true) return { action: "remove-marker-if-sole", ruleId: rule.id }
    if (e?.days !== undefined && dueAfterDays(entry.createdMs, e.days, input.dayMs) <= nowMs) return { action: "remove-marker-if-sole", ruleId: rule.id }
  }
  return keep
}

const judgeNoncurrent = (input: JudgeInput, state: KeyState): Verdict => {
  for (const rule of rulesFor(input.rules, subjectOf(input.entry))) {
    const n = rule.noncurrentExpiration
    if (n === undefined || state.noncurrentSeen < (n.newerNoncurrentVersions ?? 0)) continue
    if (dueAfterDays(state.newerCreatedMs, n.noncurrentDays, input.dayMs) <= input.nowMs) return { action: "remove-version", ruleId: rule.id }
  }
  return keep
}

/** The verdict on one listed entry, and the key state for the entry after it. */
export const judge = (input: JudgeInput): { readonly verdict: Verdict; readonly next: KeyState } => {
  const { entry } = input
  const state = input.state?.key === entry.key ? input.state : undefined
  const next: KeyState = {
    key: entry.key,
    newerCreatedMs: entry.createdMs,
    noncurrentSeen: (state?.noncurrentSeen ?? 0) + (entry.isLatest ? 0 : 1)
  }
  if (entry.isLatest) {
    if (entry.deleteMarker) return { verdict: judgeMarker(input), next }
    const due = currentExpiry(input.rules, subjectOf(entry), entry.createdMs, input.dayMs ?? DAY_MS)
    return { verdict: due !== undefined && due.dueMs <= input.nowMs ? { action: "expire-current", ruleId: due.ruleId } : keep, next }
  }
  // A noncurrent version whose newer versions were not seen (a listing resumed without the key's
  // state) waits for the next pass rather than being judged on a guess.
  if (state === undefined) return { verdict: keep, next }
  return { verdict: judgeNoncurrent(input, state), next }
}
