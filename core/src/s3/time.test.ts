import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { amzDate, httpDate, isoDate, parseAmzDate, parseHttpDate } from "./time.ts"

// The tests may use Date (only core's sources may not): it is the reference here.
describe("S3 date formats without Date", () => {
  it("formats like Date for any instant from 1970 to 9999", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => {
        const d = new Date(ms)
        expect(httpDate(ms)).toBe(d.toUTCString())
        expect(isoDate(ms)).toBe(d.toISOString())
        expect(parseAmzDate(amzDate(ms))).toBe(ms - (ms % 1000))
        expect(parseHttpDate(httpDate(ms))).toBe(ms - (ms % 1000))
      }),
      { numRuns: 2000 }
    )
  })

  it("parses the three HTTP date forms and ISO 8601, and nothing else", () => {
    const ms = Date.UTC(1994, 10, 6, 8, 49, 37)
    expect(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT")).toBe(ms)
    expect(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT")).toBe(ms)
    expect(parseHttpDate("Sun Nov  6 08:49:37 1994")).toBe(ms)
    expect(parseHttpDate("1994-11-06T08:49:37.250Z")).toBe(ms + 250)
    for (const bad of ["", "yesterday", "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:00:00 GMT"]) expect([bad, parseHttpDate(bad)]).toEqual([bad, undefined])
    expect(parseAmzDate("20130524T000000")).toBeUndefined()
    expect(parseAmzDate("20130230T000000Z")).toBeUndefined()
  })
})
