import { describe, expect, it } from "vitest"
import { S3Error } from "./errors.ts"
import { evaluateConditions, parseRange, resolveRange } from "./conditions.ts"
import { httpDate } from "./time.ts"

describe("ranges", () => {
  const resolve = (header: string, size: number) => {
    const spec = parseRange(header)
    if (spec === undefined) return "whole"
    const r = resolveRange(spec, size)
    return r instanceof S3Error ? r.code : [r.start, r.end]
  }
  it("resolves first-last, open and suffix ranges, clamped to the size", () => {
    expect(resolve("bytes=0-9", 100)).toEqual([0, 10])
    expect(resolve("bytes=90-200", 100)).toEqual([90, 100])
    expect(resolve("bytes=95-", 100)).toEqual([95, 100])
    expect(resolve("bytes=-5", 100)).toEqual([95, 100])
    expect(resolve("bytes=-500", 100)).toEqual([0, 100])
  })
  it("answers InvalidRange past the end or for an empty suffix, and ignores what is not one bytes range", () => {
    expect(resolve("bytes=100-", 100)).toBe("InvalidRange")
    expect(resolve("bytes=-0", 100)).toBe("InvalidRange")
    expect(resolve("bytes=0-0", 0)).toBe("InvalidRange")
    for (const ignored of ["bytes=5-1", "items=0-1", "bytes=0-1,3-4", "bytes=-", "garbage"]) expect(resolve(ignored, 100)).toBe("whole")
  })
})

describe("conditional requests", () => {
  const etag = '"abc"'
  const t = 1_700_000_000_000
  const outcome = (h: Parameters<typeof evaluateConditions>[0]) => evaluateConditions(h, etag, t)?.code ?? "serve"
  it("follows RFC 7232's precedence", () => {
    expect(outcome({ ifMatch: '"abc"' })).toBe("serve")
    expect(outcome({ ifMatch: '"xyz", "abc"' })).toBe("serve")
    expect(outcome({ ifMatch: "*" })).toBe("serve")
    expect(outcome({ ifMatch: '"xyz"' })).toBe("PreconditionFailed")
    expect(outcome({ ifNoneMatch: '"abc"' })).toBe("NotModified")
    expect(outcome({ ifNoneMatch: '"xyz"' })).toBe("serve")
    expect(outcome({ ifModifiedSince: httpDate(t) })).toBe("NotModified")
    expect(outcome({ ifModifiedSince: httpDate(t - 1000) })).toBe("serve")
    expect(outcome({ ifUnmodifiedSince: httpDate(t - 1000) })).toBe("PreconditionFailed")
    expect(outcome({ ifUnmodifiedSince: httpDate(t) })).toBe("serve")
    // If-Match true wins over If-Unmodified-Since false; If-None-Match false wins over If-Modified-Since true.
    expect(outcome({ ifMatch: etag, ifUnmodifiedSince: httpDate(t - 1000) })).toBe("serve")
    expect(outcome({ ifNoneMatch: '"xyz"', ifModifiedSince: httpDate(t) })).toBe("serve")
    // An unparseable date is ignored.
    expect(outcome({ ifModifiedSince: "not a date" })).toBe("serve")
  })
})
