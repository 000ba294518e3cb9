import { describe, expect, it } from "vitest"
import { S3Error } from "./errors.ts"
import { parseQuery, resolveTarget } from "./request.ts"

describe("addressing", () => {
  const target = (path: string, host: string | undefined, domains: ReadonlyArray<string> = ["s3.example.com"]) => {
    const t = resolveTarget(path, host, domains)
    return t instanceof S3Error ? t.code : [t.bucket, t.key]
  }
  it("resolves path-style requests", () => {
    expect(target("/", "s3.example.com")).toEqual([undefined, undefined])
    expect(target("/b", "s3.example.com")).toEqual(["b", undefined])
    expect(target("/b/", "127.0.0.1:9000")).toEqual(["b", undefined])
    expect(target("/b/a/b%20c//d", "127.0.0.1:9000")).toEqual(["b", "a/b c//d"])
    expect(target("/b/a%2Fb", undefined)).toEqual(["b", "a/b"])
  })
  it("resolves virtual-host-style requests under a configured domain, with a port", () => {
    expect(target("/key/x", "my.bucket.s3.example.com:9000")).toEqual(["my.bucket", "key/x"])
    expect(target("/", "bucket.S3.Example.com")).toEqual(["bucket", undefined])
    // Not under the domain: path style.
    expect(target("/bucket/key", "s3.example.com")).toEqual(["bucket", "key"])
  })
  it("refuses bad percent-encoding", () => {
    expect(target("/b/%zz", "h")).toBe("InvalidRequest")
  })
})

describe("query strings", () => {
  it("decodes pairs and keeps flags without values", () => {
    expect(parseQuery("uploads&prefix=a%20b&list-type=2&x=")).toEqual([["uploads", ""], ["prefix", "a b"], ["list-type", "2"], ["x", ""]])
    expect(parseQuery("")).toEqual([])
    expect(parseQuery("a=%E0%A4%A")).toBeInstanceOf(S3Error)
  })
})
