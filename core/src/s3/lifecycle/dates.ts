/**
 * Lifecycle time, as AWS computes it: an action due `Days` after a moment
 * (an object's creation, the time a version became noncurrent, an upload's
 * initiation) is due at that moment plus the days, rounded up to the next
 * midnight UTC ("an object created at 10:30 UTC on January 15 with Days 3
 * expires at 00:00 UTC on January 19"). A `Date` is a midnight UTC.
 *
 * A shorter "day" (`dayMs`) is the test-only debug setting of
 * `--lifecycle-day-seconds` (as Ceph RGW's `rgw_lc_debug_interval`): then
 * a day is that long and nothing is rounded, so a test sees days pass in
 * seconds.
 */
import { S3Error, s3Error } from "../errors.ts"
import { malformed } from "../xml-parse.ts"
import { daysFromCivil, parseHttpDate } from "../time.ts"

export const DAY_MS = 86_400_000

/** When something that started at `startMs` is `days` days old, by AWS's rule (or the debug day's). */
export const dueAfterDays = (startMs: number, days: number, dayMs: number = DAY_MS): number =>
  dayMs === DAY_MS ? Math.ceil((startMs + days * DAY_MS) / DAY_MS) * DAY_MS : startMs + days * dayMs

/**
 * A rule's `<Date>`: ISO 8601, a date (`2027-01-01`) or a UTC date-time (`2027-01-01T00:00:00Z`, as
 * the SDKs send it, `.000Z` and `+00:00` too); it must be a midnight UTC.
 */
export const parseLifecycleDate = (text: string): number | S3Error => {
  const t = text.trim().replace(/\+00:00$/, "Z")
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t)
  let ms: number | undefined
  if (day !== null) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])]
    ms = m >= 1 && m <= 12 && d >= 1 && d <= 31 ? daysFromCivil(y, m, d) * DAY_MS : undefined
    // daysFromCivil accepts February 30; a date that does not round-trip is not a date.
    if (ms !== undefined && parseHttpDate(`${day[1]}-${day[2]}-${day[3]}T00:00:00Z`) !== ms) ms = undefined
  } else if (/^\d{4}-\d{2}-\d{2}T/.test(t)) {
    ms = parseHttpDate(t)
  }
  if (ms === undefined) return malformed(`Date ${text.trim()} is not an ISO 8601 date`)
  if (ms % DAY_MS !== 0) return s3Error("InvalidArgument", "'Date' must be at midnight GMT")
  return ms
}
