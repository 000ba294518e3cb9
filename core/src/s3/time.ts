/**
 * The date formats of the S3 protocol, computed from epoch milliseconds
 * without the platform's Date (core reads time only through the Clock):
 * HTTP dates (Last-Modified, If-Modified-Since), ISO 8601 (XML listings) and
 * SigV4's basic format (20130524T000000Z).
 */

const DAYS = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"] as const
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const
const DAY_MS = 86_400_000

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

interface Civil {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
  readonly ms: number
  /** 0 = Thursday (1970-01-01) */
  readonly weekday: number
}

const civilFromMs = (epochMs: number): Civil => {
  const days = Math.floor(epochMs / DAY_MS)
  const msOfDay = epochMs - days * DAY_MS
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  return {
    year: yoe + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day,
    hour: Math.floor(msOfDay / 3_600_000),
    minute: Math.floor(msOfDay / 60_000) % 60,
    second: Math.floor(msOfDay / 1000) % 60,
    ms: msOfDay % 1000,
    weekday: ((days % 7) + 7) % 7
  }
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0")

/** RFC 7231 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
export const httpDate = (epochMs: number): string => {
  const c = civilFromMs(epochMs)
  return `${DAYS[c.weekday]!}, ${pad(c.day)} ${MONTHS[c.month - 1]!} ${c.year} ${pad(c.hour)}:${pad(c.minute)}:${pad(c.second)} GMT`
}

/** ISO 8601 with milliseconds: `2009-10-12T17:50:30.000Z` (S3 listings). */
export const isoDate = (epochMs: number): string => {
  const c = civilFromMs(epochMs)
  return `${c.year}-${pad(c.month)}-${pad(c.day)}T${pad(c.hour)}:${pad(c.minute)}:${pad(c.second)}.${pad(c.ms, 3)}Z`
}

/** SigV4's `20130524T000000Z`. */
export const amzDate = (epochMs: number): string => {
  const c = civilFromMs(epochMs)
  return `${c.year}${pad(c.month)}${pad(c.day)}T${pad(c.hour)}${pad(c.minute)}${pad(c.second)}Z`
}

const valid = (y: number, mo: number, d: number, h: number, mi: number, s: number): boolean =>
  mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60 && civilFromMs(daysFromCivil(y, mo, d) * DAY_MS).day === d

const toMs = (y: number, mo: number, d: number, h: number, mi: number, s: number): number | undefined =>
  valid(y, mo, d, h, mi, s) ? daysFromCivil(y, mo, d) * DAY_MS + ((h * 60 + mi) * 60 + s) * 1000 : undefined

/** Parses `20130524T000000Z`. */
export const parseAmzDate = (text: string): number | undefined => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text)
  if (m === null) return undefined
  return toMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
}

/**
 * Parses an HTTP date in the three forms RFC 7231 accepts (IMF-fixdate,
 * RFC 850, asctime) and ISO 8601 UTC, which some clients send; undefined if
 * it is none of them (a conditional header with a bad date is ignored, as
 * HTTP says).
 */
export const parseHttpDate = (text: string): number | undefined => {
  const t = text.trim()
  const month = (name: string) => MONTHS.indexOf(name as (typeof MONTHS)[number]) + 1
  let m = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(t)
  if (m !== null) return month(m[2]!) === 0 ? undefined : toMs(Number(m[3]), month(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  m = /^[A-Za-z]+, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(t)
  if (m !== null) {
    const yy = Number(m[3])
    return month(m[2]!) === 0 ? undefined : toMs(yy < 70 ? 2000 + yy : 1900 + yy, month(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]))
  }
  m = /^[A-Za-z]{3} ([A-Za-z]{3}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(t)
  if (m !== null) return month(m[1]!) === 0 ? undefined : toMs(Number(m[6]), month(m[1]!), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]))
  m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$/.exec(t)
  if (m !== null) {
    const base = toMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
    return base === undefined ? undefined : base + (m[7] === undefined ? 0 : Number(m[7].padEnd(3, "0")))
  }
  return undefined
}
