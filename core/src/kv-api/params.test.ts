/**
 * The KV API's pure request parsing: the end of a prefix range, the route
 * a path names and the label it is counted under, and the list query.
 */
import { describe, expect, it } from "vitest"
import { InvalidRequestError } from "./errors.ts"
import { keyOf, listQueryOf, prefixEnd, preconditionOf } from "./params.ts"
import { routeLabel, routeOf } from "./routes.ts"

describe("prefixEnd", () => {
  it("is the smallest string after every string with the prefix, in code point order", () => {
    expect(prefixEnd("ab")).toBe("ac")
    expect(prefixEnd("a\u{10ffff}")).toBe("b")
    expect(prefixEnd("\u{10ffff}\u{10ffff}")).toBeUndefined()
    // The surrogate range is skipped: U+D7FF is followed by U+E000.
    expect(prefixEnd("x\ud7ff")).toBe("x\ue000")
    for (const s of ["ab", "ab\u0000", "ab\u{10ffff}z", "abzzz"]) expect(s < prefixEnd("ab")!).toBe(true)
  })
})

describe("routes", () => {
  it("name the operation and a low-cardinality label", () => {
    expect(routeOf("/v1/kv/a/b")).toEqual({ kind: "key", encodedKey: "a/b" })
    expect(routeOf("/v1/kv/")).toEqual({ kind: "key", encodedKey: "" })
    expect(routeOf("/v1/kv")).toEqual({ kind: "list" })
    expect(routeOf("/v1/admin/members/n2")).toEqual({ kind: "members", rest: "/n2" })
    expect(routeOf("/v1/admin/membersx")).toEqual({ kind: "none" })
    expect(routeOf("/v1/admin/s3/users")).toEqual({ kind: "s3-users", rest: "" })
    expect(routeOf("/metrics")).toEqual({ kind: "none" })
    expect(["/v1/kv/secret", "/v1/kv", "/v1/admin/s3/x", "/v1/admin/x", "/ready", "/v1/status", "/favicon.ico"].map(routeLabel)).toEqual([
      "/v1/kv/{key}", "/v1/kv", "/v1/admin/s3/users", "/v1/admin/members", "/ready", "/v1/status", "other"
    ])
  })

  it("route the streaming log under /v1/log, labelled without names or numbers", () => {
    expect(routeOf("/v1/log/topics/orders")).toEqual({ kind: "log", rest: "/topics/orders" })
    expect(routeOf("/v1/log")).toEqual({ kind: "log", rest: "" })
    expect(routeOf("/v1/logs")).toEqual({ kind: "none" })
    expect(["/v1/log/topics", "/v1/log/topics/orders", "/v1/log/topics/orders/partitions/3/records", "/v1/log/groups/g/offsets/orders/3", "/v1/log/x"].map(routeLabel)).toEqual([
      "/v1/log/topics", "/v1/log/topics/{topic}", "/v1/log/topics/{topic}/partitions/{p}/records", "/v1/log/groups/{group}/offsets/{topic}/{p}", "/v1/log"
    ])
  })
})

describe("parameters", () => {
  it("read a key, a precondition and a list query, or say what is wrong", () => {
    expect(keyOf("dir/%C3%A9t%C3%A9")).toBe("dir/été")
    expect((keyOf("%E0%A4%A") as InvalidRequestError).code).toBe("bad-key")
    expect((keyOf("é".repeat(2049)) as InvalidRequestError).code).toBe("key-too-large")
    expect(keyOf("é".repeat(2048))).toBe("é".repeat(2048))
    expect(preconditionOf(new Map([["if-match", 'W/"42"']]))).toBe(42)
    expect(preconditionOf(new Map([["if-none-match", " * "]]))).toBe("absent")
    expect(preconditionOf(new Map())).toBeUndefined()
    expect(preconditionOf(new Map([["if-match", '"1", "2"']]))).toBeInstanceOf(InvalidRequestError)
    const url = (q: string) => new URL(`http://localhost/v1/kv?${q}`)
    // The range never starts below the first key that is not reserved.
    expect(listQueryOf(url(""))).toEqual({ from: "\u0001", end: undefined, limit: 100, encoding: "base64" })
    expect(listQueryOf(url("prefix=a&start=a5&limit=10000&encoding=utf8"))).toEqual({ from: "a5", end: "b", limit: 10000, encoding: "utf8" })
    expect((listQueryOf(url("limit=10001")) as InvalidRequestError).code).toBe("bad-limit")
  })
})
