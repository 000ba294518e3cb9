import { describe, expect, it } from "vitest"
import { s3Operation } from "./operation.ts"

const op = (method: string, url: string, headers: Record<string, string> = {}, domains: ReadonlyArray<string> = []) => {
  const q = url.indexOf("?")
  return s3Operation({
    method,
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? "" : url.slice(q + 1),
    headers: new Map(Object.entries({ host: "127.0.0.1:9000", ...headers }))
  }, domains)
}

describe("S3 operation names", () => {
  it("names object operations", () => {
    expect(op("PUT", "/b/k")).toEqual({ operation: "PutObject", bucket: "b", key: "k" })
    expect(op("GET", "/b/a/b%20c").operation).toBe("GetObject")
    expect(op("GET", "/b/a/b%20c").key).toBe("a/b c")
    expect(op("HEAD", "/b/k").operation).toBe("HeadObject")
    expect(op("DELETE", "/b/k").operation).toBe("DeleteObject")
    expect(op("PUT", "/b/k", { "x-amz-copy-source": "/b/j" }).operation).toBe("CopyObject")
    expect(op("GET", "/b/k?tagging").operation).toBe("GetObjectTagging")
    expect(op("PUT", "/b/k?tagging").operation).toBe("PutObjectTagging")
    expect(op("DELETE", "/b/k?tagging").operation).toBe("DeleteObjectTagging")
    expect(op("GET", "/b/k?attributes").operation).toBe("GetObjectAttributes")
  })
  it("names multipart operations", () => {
    expect(op("POST", "/b/k?uploads").operation).toBe("CreateMultipartUpload")
    expect(op("PUT", "/b/k?partNumber=1&uploadId=u").operation).toBe("UploadPart")
    expect(op("PUT", "/b/k?partNumber=1&uploadId=u", { "x-amz-copy-source": "/b/j" }).operation).toBe("UploadPartCopy")
    expect(op("GET", "/b/k?uploadId=u").operation).toBe("ListParts")
    expect(op("POST", "/b/k?uploadId=u").operation).toBe("CompleteMultipartUpload")
    expect(op("DELETE", "/b/k?uploadId=u").operation).toBe("AbortMultipartUpload")
    expect(op("GET", "/b?uploads").operation).toBe("ListMultipartUploads")
  })
  it("names bucket and service operations", () => {
    expect(op("GET", "/").operation).toBe("ListBuckets")
    expect(op("PUT", "/b").operation).toBe("CreateBucket")
    expect(op("HEAD", "/b").operation).toBe("HeadBucket")
    expect(op("DELETE", "/b/").operation).toBe("DeleteBucket")
    expect(op("GET", "/b?list-type=2&prefix=a").operation).toBe("ListObjectsV2")
    expect(op("GET", "/b?prefix=a").operation).toBe("ListObjects")
    expect(op("GET", "/b?versions").operation).toBe("ListObjectVersions")
    expect(op("GET", "/b?location").operation).toBe("GetBucketLocation")
    expect(op("PUT", "/b?versioning").operation).toBe("PutBucketVersioning")
    expect(op("GET", "/b?cors").operation).toBe("GetBucketCors")
    expect(op("DELETE", "/b?tagging").operation).toBe("DeleteBucketTagging")
    expect(op("POST", "/b?delete").operation).toBe("DeleteObjects")
    expect(op("OPTIONS", "/b/k").operation).toBe("PreflightRequest")
    // Lifecycle, with AWS's own names (the delete has no "Configuration").
    expect(["GET", "PUT", "DELETE", "POST"].map((m) => op(m, "/b?lifecycle").operation)).toEqual([
      "GetBucketLifecycleConfiguration",
      "PutBucketLifecycleConfiguration",
      "DeleteBucketLifecycle",
      "Unknown"
    ])
  })
  it("names the operations that answer 501 after the subresource, not as the plain operation", () => {
    expect(op("GET", "/b?policy").operation).toBe("GetBucketPolicy")
    expect(op("GET", "/b?object-lock").operation).toBe("GetObjectLockConfiguration")
    expect(op("PUT", "/b/k?acl").operation).toBe("PutObjectAcl")
    expect(op("POST", "/b/k?restore").operation).toBe("RestoreObject")
  })
  it("resolves virtual-host-style addressing like the handler", () => {
    expect(op("GET", "/k", { host: "b.s3.example.com" }, ["s3.example.com"])).toEqual({ operation: "GetObject", bucket: "b", key: "k" })
    expect(op("GET", "/?list-type=2", { host: "b.s3.example.com" }, ["s3.example.com"]).operation).toBe("ListObjectsV2")
  })
  it("answers Unknown, never a name taken from the request, for what names no operation", () => {
    expect(op("PATCH", "/b/k").operation).toBe("Unknown")
    expect(op("POST", "/b/k").operation).toBe("Unknown")
    expect(op("PUT", "/").operation).toBe("Unknown")
    expect(op("GET", "/b/%zz")).toEqual({ operation: "Unknown", bucket: undefined, key: undefined })
    expect(op("FOO", "/b?policy").operation).toBe("Unknown")
  })
})
