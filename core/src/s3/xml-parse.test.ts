import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { S3Error } from "./errors.ts"
import { parseCompleteMultipartUpload, parseCorsConfiguration, parseCreateBucketConfiguration, parseDelete, parseTagging, parseVersioningConfiguration } from "./xml-parse.ts"
import { decodeXmlReferences } from "./xml-references.ts"

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

  describe("references", () => {
    it("decodes the five named entities and decimal and hex character references", () => {
      expect(decodeXmlReferences("&amp;&lt;&gt;&quot;&apos;")).toBe(`&<>"'`)
      expect(decodeXmlReferences("&#34;&#39;&#x22;&#x27;")).toBe(`"'"'`)
      expect(decodeXmlReferences("&#x9;&#xA;&#xD;&#233;&#xe9;&#x1F600;&#0000065;&#x1;")).toBe("\t\n\ré\u00e9\u{1F600}A\u0001")
      expect(decodeXmlReferences("no references")).toBe("no references")
      // Decoded once: an escaped reference stays text.
      expect(decodeXmlReferences("&amp;#34;")).toBe("&#34;")
    })

    it("refuses unknown names, NUL, surrogates, code points past U+10FFFF, malformed references and a bare &", () => {
      for (const bad of ["&nbsp;", "&foo;", "&#0;", "&#x0;", "&#xD800;", "&#57343;", "&#x110000;", "&#1114112;", "&#99999999999999999999;", "&#x;", "&#;", "&#12a;", "&#X22;", "a & b", "&amp", "&;"]) {
        expect([bad, typeof decodeXmlReferences(bad)]).toEqual([bad, "object"])
      }
      expect(decodeXmlReferences("&#x10FFFF;")).toBe("\u{10FFFF}")
    })

    it("decodes a CompleteMultipartUpload written the way Go's encoding/xml writes it (ETag quotes as &#34;)", () => {
      // What rclone (aws-sdk-go v1) sends: encoding/xml escapes " as &#34; and ' as &#39;.
      const xml = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&#34;a54357aff0632cce46d942af68356b38&#34;</ETag><PartNumber>1</PartNumber></Part><Part><ETag>&#34;0c78aef83f66abc1fa1e8477f296d394&#34;</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>`
      expect(parseCompleteMultipartUpload(bytes(xml))).toEqual([
        { partNumber: 1, etag: '"a54357aff0632cce46d942af68356b38"' },
        { partNumber: 2, etag: '"0c78aef83f66abc1fa1e8477f296d394"' }
      ])
      const hex = xml.replaceAll("&#34;", "&#x22;")
      expect(parseCompleteMultipartUpload(bytes(hex))).toEqual(parseCompleteMultipartUpload(bytes(xml)))
    })

    it("decodes every form in Delete keys, tags and CORS values, and leaves CDATA as written", () => {
      const xml = "<Delete><Object><Key>it&#39;s.txt</Key></Object><Object><Key>&quot;q&#x22; &lt;&amp;&gt; &apos;</Key></Object><Object><Key><![CDATA[&#39;raw&amp;]]></Key></Object></Delete>"
      expect(parseDelete(bytes(xml))).toEqual({ quiet: false, objects: [{ key: "it's.txt" }, { key: `"q" <&> '` }, { key: "&#39;raw&amp;" }] })
      expect(parseTagging(bytes("<Tagging><TagSet><Tag><Key>a&#38;b</Key><Value>&#x3C;v&#62;</Value></Tag></TagSet></Tagging>"))).toEqual([["a&b", "<v>"]])
      const cors = "<CORSConfiguration><CORSRule><AllowedOrigin>https://a.example?x=1&amp;y=&#50;</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
      expect(parseCorsConfiguration(bytes(cors))).toMatchObject([{ allowedOrigins: ["https://a.example?x=1&y=2"] }])
      expect(parseVersioningConfiguration(bytes("<VersioningConfiguration><Status>&#69;nabled</Status></VersioningConfiguration>"))).toBe("enabled")
    })

    it("answers MalformedXML, never a crash, for an invalid reference in any body", () => {
      for (const ref of ["&bogus;", "&#0;", "&#xDFFF;", "&#x110000;", "a & b"]) {
        expect([ref, code(parseCompleteMultipartUpload(bytes(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${ref}</ETag></Part></CompleteMultipartUpload>`)))]).toEqual([ref, "MalformedXML"])
        expect([ref, code(parseDelete(bytes(`<Delete><Object><Key>k${ref}</Key></Object></Delete>`)))]).toEqual([ref, "MalformedXML"])
        expect([ref, code(parseTagging(bytes(`<Tagging><TagSet><Tag><Key>k</Key><Value>${ref}</Value></Tag></TagSet></Tagging>`)))]).toEqual([ref, "MalformedXML"])
      }
      // One bad document does not poison the next.
      expect(parseDelete(bytes("<Delete><Object><Key>fine&#33;</Key></Object></Delete>"))).toEqual({ quiet: false, objects: [{ key: "fine!" }] })
    })

    it("round-trips any key however each character is written: as itself, named, decimal or hex", () => {
      const named: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" }
      // Any character XML can carry by reference (no NUL, no lone surrogate).
      const char = fc.oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), fc.constantFrom("&", "<", ">", '"', "'", "\t", "\n", "\r", "\u0001"))
        .filter((c) => c !== "\u0000" && !/^[\ud800-\udfff]$/.test(c))
      const written = fc.tuple(char, fc.constantFrom("raw", "named", "decimal", "hex")).map(([c, how]) => {
        const code = c.codePointAt(0)!
        if (how === "decimal") return [c, `&#${code};`] as const
        if (how === "hex") return [c, `&#x${code.toString(16)};`] as const
        // Markup characters and those a parser may normalize (CR, controls) are always references when written "raw".
        if (named[c] !== undefined) return [c, named[c]!] as const
        return [c, code < 0x20 ? `&#${code};` : c] as const
      })
      fc.assert(
        fc.property(fc.array(written, { minLength: 1, maxLength: 40 }), (chars) => {
          const key = chars.map(([c]) => c).join("")
          const xml = `<Delete><Object><Key>${chars.map(([, w]) => w).join("")}</Key></Object></Delete>`
          expect(parseDelete(bytes(xml))).toEqual({ quiet: false, objects: [{ key }] })
        }),
        { numRuns: 200 }
      )
    })

    it("never throws on arbitrary text after an &: a request or MalformedXML", () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 30 }), (junk) => {
          const out = parseDelete(bytes(`<Delete><Object><Key>k&${junk}</Key></Object></Delete>`))
          expect(out instanceof S3Error ? out.code : "parsed").toMatch(/^(parsed|MalformedXML)$/)
        }),
        { numRuns: 200 }
      )
    })

    it("still refuses a DTD and entity expansion, internal or external", () => {
      for (const bad of [
        '<!DOCTYPE Delete [<!ENTITY a "it">]><Delete><Object><Key>&a;</Key></Object></Delete>',
        '<!DOCTYPE Delete [<!ENTITY x SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&x;</Key></Object></Delete>',
        '<!doctype Delete><Delete><Object><Key>k</Key></Object></Delete>',
        '<Delete><Object><Key>&a;</Key></Object></Delete>'
      ]) expect([bad, code(parseDelete(bytes(bad)))]).toEqual([bad, "MalformedXML"])
    })
  })
})
