/**
 * Conditional requests (RFC 7232 as S3 applies them) and byte ranges
 * (RFC 7233, one range per request as S3 supports).
 *
 * Precedence on GET/HEAD: If-Match, then If-Unmodified-Since (only without
 * If-Match), then If-None-Match, then If-Modified-Since (only without
 * If-None-Match). Failing If-Match/If-Unmodified-Since is 412; failing
 * If-None-Match/If-Modified-Since is 304.
 */
import type { ByteRange } from "../object/object-api.ts"
import { bareEtag } from "./attributes.ts"
import { S3Error, s3Error } from "./errors.ts"
import { parseHttpDate } from "./time.ts"

export interface ConditionHeaders {
  readonly ifMatch?: string | undefined
  readonly ifNoneMatch?: string | undefined
  readonly ifModifiedSince?: string | undefined
  readonly ifUnmodifiedSince?: string | undefined
}

const etagListMatches = (list: string, etag: string): boolean =>
  list.split(",").some((candidate) => candidate.trim() === "*" || bareEtag(candidate) === bareEtag(etag))

/** Whole seconds: HTTP dates have no milliseconds. */
const seconds = (ms: number) => Math.floor(ms / 1000)

/** `undefined`: serve; otherwise the failure ("NotModified" is a 304 with no body). */
export const evaluateConditions = (h: ConditionHeaders, etag: string, lastModifiedMs: number): S3Error | undefined => {
  if (h.ifMatch !== undefined) {
    if (!etagListMatches(h.ifMatch, etag)) return s3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", [["Condition", "If-Match"]])
  } else if (h.ifUnmodifiedSince !== undefined) {
    const t = parseHttpDate(h.ifUnmodifiedSince)
    if (t !== undefined && seconds(lastModifiedMs) > seconds(t)) return s3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", [["Condition", "If-Unmodified-Since"]])
  }
  if (h.ifNoneMatch !== undefined) {
    if (etagListMatches(h.ifNoneMatch, etag)) return s3Error("NotModified", "Not Modified")
  } else if (h.ifModifiedSince !== undefined) {
    const t = parseHttpDate(h.ifModifiedSince)
    if (t !== undefined && seconds(lastModifiedMs) <= seconds(t)) return s3Error("NotModified", "Not Modified")
  }
  return undefined
}

/** A parsed Range header: resolved against the size later. */
export type RangeSpec =
  | { readonly kind: "from"; readonly start: number; readonly end: number | undefined }
  | { readonly kind: "suffix"; readonly length: number }

/** One `bytes=` range; undefined for anything else (which HTTP says to ignore: the whole object is served). */
export const parseRange = (header: string | undefined): RangeSpec | undefined => {
  if (header === undefined) return undefined
  const m = /^\s*bytes\s*=\s*(\d{0,15})\s*-\s*(\d{0,15})\s*$/.exec(header)
  if (m === null) return undefined
  const [, a, b] = m as unknown as [string, string, string]
  if (a === "" && b === "") return undefined
  if (a === "") return { kind: "suffix", length: Number(b) }
  if (b !== "" && Number(b) < Number(a)) return undefined
  return { kind: "from", start: Number(a), end: b === "" ? undefined : Number(b) }
}

/** The byte range [start, end) a spec selects of an object of `size` bytes, or InvalidRange. */
export const resolveRange = (spec: RangeSpec, size: number): ByteRange | S3Error => {
  const invalid = () =>
    new S3Error({
      code: "InvalidRange",
      message: "The requested range is not satisfiable",
      details: [["ActualObjectSize", String(size)]],
      headers: [["content-range", `bytes */${size}`]]
    })
  if (spec.kind === "suffix") {
    if (spec.length === 0 || size === 0) return invalid()
    return { start: Math.max(0, size - spec.length), end: size }
  }
  if (spec.start >= size) return invalid()
  return { start: spec.start, end: spec.end === undefined ? size : Math.min(size, spec.end + 1) }
}

export const contentRange = (range: ByteRange, size: number): string => `bytes ${range.start}-${range.end - 1}/${size}`
