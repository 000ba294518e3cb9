import { describe, expect, it } from "vitest"
import { S3Error } from "./errors.ts"
import { parseCompleteMultipartUpload, parseCorsConfiguration, parseCreateBucketConfiguration, parseDelete, parseTagging } from "./xml-parse.ts"

const bytes = (s: string) => new TextEncoder().encode(s)
const code = (v: unknown) => (v instanceof S3Error ? v.code : "ok")

describe("S3 request XML", () => {
  it("parses CompleteMultipartUpload with the namespace, in order, ETags as sent", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><ETag>"a54357aff0632cce46d942af68356b38"</ETag><PartNumber>1</PartNumber></Part>
  <Part><PartNumber>3</PartNumber><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag></Part>
</CompleteMultipartUpload>`
    expect(parseCompleteMultipartUpload(bytes(xml))).toEqual([
      { partNumber: 1, etag: '"a54357aff0632cce46d942af68356b38"' },
      { partNumber: 3, etag: '"0c78aef83f66abc1fa1e8477f296d394"' }
    ])
  })

  it("refuses malformed XML, a DOCTYPE, a missing element or the wrong root with MalformedXML", () => {
    for (const bad of [
      "<CompleteMultipartUpload><Part>",
      "not xml at all",
      "",
      '<!DOCTYPE x [<!ENTITY a "aaaa">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&a;</ETag></Part></CompleteMultipartUpload>',
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
      "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>",
      "<CompleteMultipartUpload></CompleteMultipartUpload>",
      "<Delete><Object><Key>k</Key></Object></Delete>"
    ]) expect([bad, code(parseCompleteMultipartUpload(bytes(bad)))]).toEqual([bad, "MalformedXML"])
    expect(code(parseCompleteMultipartUpload(new Uint8Array([0x3c, 0xff, 0xfe])))).toBe("MalformedXML")
  })

  it("parses Delete keeping keys exactly (spaces, entities, digits), version ids and Quiet", () => {
    const xml = "<Delete><Quiet>true</Quiet><Object><Key> a&amp;b </Key></Object><Object><Key>123</Key><VersionId>v</VersionId></Object></Delete>"
    expect(parseDelete(bytes(xml))).toEqual({ quiet: true, objects: [{ key: " a&b " }, { key: "123", versionId: "v" }] })
    expect(parseDelete(bytes("<Delete><Object><Key>k</Key></Object></Delete>"))).toEqual({ quiet: false, objects: [{ key: "k" }] })
    expect(code(parseDelete(bytes("<Delete><Object><Key></Key></Object></Delete>")))).toBe("MalformedXML")
    const tooMany = `<Delete>${"<Object><Key>k</Key></Object>".repeat(1001)}</Delete>`
    expect(code(parseDelete(bytes(tooMany)))).toBe("MalformedXML")
  })

  it("parses Tagging, an empty TagSet included", () => {
    expect(parseTagging(bytes("<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value></Value></Tag></TagSet></Tagging>"))).toEqual([["a", "1"], ["b", ""]])
    expect(parseTagging(bytes("<Tagging><TagSet/></Tagging>"))).toEqual([])
    expect(code(parseTagging(bytes("<Tagging></Tagging>")))).toBe("MalformedXML")
  })

  it("parses CORS rules and refuses unsupported methods", () => {
    const xml = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><MaxAgeSeconds>30</MaxAgeSeconds></CORSRule></CORSConfiguration>"
    expect(parseCorsConfiguration(bytes(xml))).toEqual([{ allowedOrigins: ["*"], allowedMethods: ["GET", "PUT"], allowedHeaders: [], exposeHeaders: [], maxAgeSeconds: 30 }])
    expect(code(parseCorsConfiguration(bytes(xml.replace("PUT", "PATCH"))))).toBe("InvalidRequest")
    expect(code(parseCorsConfiguration(bytes("<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>")))).toBe("MalformedXML")
  })

  it("reads the location constraint of CreateBucket", () => {
    expect(parseCreateBucketConfiguration(bytes("<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"))).toBe("eu-west-1")
    expect(parseCreateBucketConfiguration(bytes("<CreateBucketConfiguration/>"))).toBe("")
  })
})
