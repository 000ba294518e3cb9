import { describe, expect, it } from "vitest"
import { bucketNameProblem, checkKey } from "./names.ts"

describe("bucket names", () => {
  it("accepts S3's valid names", () => {
    for (const name of ["abc", "my-bucket.2", "a".repeat(63), "0ab", "docexamplebucket1"]) expect([name, bucketNameProblem(name)]).toEqual([name, undefined])
  })
  it("refuses each kind of invalid name", () => {
    for (const name of ["ab", "a".repeat(64), "Abc", "a_b", "-ab", "ab-", "a..b", "a.-b", "a-.b", "192.168.5.4", "xn--abc", "abc-s3alias", "abc--ol-s3", "sthree-x", "ab c", ""]) {
      expect([name, bucketNameProblem(name) !== undefined]).toEqual([name, true])
    }
  })
})

describe("object keys", () => {
  it("accepts 1..1024 UTF-8 bytes and refuses empty, longer, or lone surrogates", () => {
    expect(checkKey("a")).toBeUndefined()
    expect(checkKey("ü".repeat(512))).toBeUndefined()
    expect(checkKey("ü".repeat(513))?.code).toBe("KeyTooLongError")
    expect(checkKey("a".repeat(1025))?.code).toBe("KeyTooLongError")
    expect(checkKey("")?.code).toBe("InvalidArgument")
    expect(checkKey("a\ud800b")?.code).toBe("InvalidArgument")
    expect(checkKey("😀")).toBeUndefined()
  })
})
