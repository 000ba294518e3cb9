import { describe, expect, it } from "vitest"
import { BucketNotEmptyError, InvalidRangeError, NoSuchKeyError, ObjectStoreUnavailableError } from "../object/object-api.ts"
import { errorXml, fromStoreError, s3Error, statusOf } from "./errors.ts"
import { parseXmlRoot } from "./xml-parse.ts"

describe("S3 errors", () => {
  it("renders the error document with code, message, details, resource and request id, escaped", () => {
    const xml = errorXml(s3Error("NoSuchKey", "The specified key does not exist.", [["Key", "a<b>&\u0001"]]), "/b/a%3Cb%3E", "ABCDEF0123456789")
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<Error>')).toBe(true)
    expect(xml).toContain("<Code>NoSuchKey</Code>")
    expect(xml).toContain("<Key>a&lt;b&gt;&amp;&#x1;</Key>")
    expect(xml).toContain("<RequestId>ABCDEF0123456789</RequestId>")
    // Well-formed: our own parser accepts it.
    expect(parseXmlRoot(new TextEncoder().encode(xml), "Error")).toMatchObject({ Code: "NoSuchKey", Resource: "/b/a%3Cb%3E" })
  })

  it("maps codes to S3's statuses", () => {
    expect([statusOf(s3Error("NoSuchKey", "")), statusOf(s3Error("InvalidRange", "")), statusOf(s3Error("RequestTimeTooSkewed", "")), statusOf(s3Error("MissingContentLength", "")), statusOf(s3Error("NotImplemented", ""))]).toEqual([404, 416, 403, 411, 501])
  })

  it("maps the store's errors to S3 codes", () => {
    expect(fromStoreError(new NoSuchKeyError({ bucket: "b", key: "k" })).code).toBe("NoSuchKey")
    expect(fromStoreError(new BucketNotEmptyError({ bucket: "b" })).code).toBe("BucketNotEmpty")
    expect(fromStoreError(new InvalidRangeError({ size: 3 })).code).toBe("InvalidRange")
    const unavailable = fromStoreError(new ObjectStoreUnavailableError({ message: "no leader", ambiguous: true }))
    expect([unavailable.code, unavailable.message.includes("may still take effect"), unavailable.headers]).toEqual(["ServiceUnavailable", true, [["retry-after", "1"]]])
  })
})
