import { describe, expect, it } from "vitest"
import { S3Error } from "../errors.ts"
import { daysFromCivil, httpDate } from "../time.ts"
import { xmlDocument } from "../xml-render.ts"
import { DAY_MS, dueAfterDays } from "./dates.ts"
import { currentExpiry, expirationHeader, filterMatches } from "./match.ts"
import { MAX_RULES, parseLifecycleConfiguration } from "./parse.ts"
import { lifecycleConfigurationXml } from "./render.ts"
import type { LifecycleRule } from "./rules.ts"

const doc = (rules: string) => new TextEncoder().encode(`<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules}</LifecycleConfiguration>`)
const parse = (rules: string) => parseLifecycleConfiguration(doc(rules))
const rulesOf = (rules: string): ReadonlyArray<LifecycleRule> => {
  const r = parse(rules)
  if (r instanceof S3Error) throw new Error(`refused: ${r.code} ${r.message}`)
  return r
}
const codeOf = (rules: string) => {
  const r = parse(rules)
  return r instanceof S3Error ? r.code : "accepted"
}
const utc = (y: number, m: number, d: number, h = 0, mi = 0) => daysFromCivil(y, m, d) * DAY_MS + (h * 60 + mi) * 60_000

// The examples of AWS's "Examples of S3 Lifecycle configurations" and PutBucketLifecycleConfiguration pages.
const examples: ReadonlyArray<readonly [string, string]> = [
  ["legacy prefix, expire after 365 days", "<Rule><ID>id1</ID><Prefix>logs/</Prefix><Status>Enabled</Status><Expiration><Days>365</Days></Expiration></Rule>"],
  ["filter by prefix", "<Rule><ID>id1</ID><Filter><Prefix>tax/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>365</Days></Expiration></Rule>"],
  ["filter by one tag", "<Rule><ID>id1</ID><Filter><Tag><Key>key1</Key><Value>value1</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>"],
  [
    "And: prefix, two tags, size bounds",
    "<Rule><ID>id1</ID><Filter><And><Prefix>projectA/</Prefix><Tag><Key>key1</Key><Value>value1</Value></Tag><Tag><Key>key2</Key><Value>value2</Value></Tag><ObjectSizeGreaterThan>500</ObjectSizeGreaterThan><ObjectSizeLessThan>64000</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>"
  ],
  ["empty filter, expired delete markers", "<Rule><ID>id1</ID><Filter></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>"],
  [
    "noncurrent versions, keeping the newest 5",
    "<Rule><ID>id1</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>5</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>"
  ],
  ["abort incomplete uploads", "<Rule><ID>id1</ID><Filter><Prefix>uploads/</Prefix></Filter><Status>Disabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"],
  ["a date", "<Rule><ID>id1</ID><Filter><Prefix>old/</Prefix></Filter><Status>Enabled</Status><Expiration><Date>2027-01-01T00:00:00.000Z</Date></Expiration></Rule>"]
]

describe("parsing a LifecycleConfiguration", () => {
  it.each(examples)("accepts AWS's example (%s) and renders it back as written", (_name, rules) => {
    const parsed = rulesOf(rules)
    const rendered = xmlDocument(lifecycleConfigurationXml(parsed))
    // What GET answers parses to the same rules (the client's form kept).
    expect(rulesOf(rendered.slice(rendered.indexOf("<Rule>"), rendered.lastIndexOf("</LifecycleConfiguration>")))).toEqual(parsed)
  })

  it("keeps the values AWS's examples give", () => {
    const [and] = rulesOf(examples[3]![1])
    expect(and!.filter).toEqual({ form: "and", prefix: "projectA/", tags: [["key1", "value1"], ["key2", "value2"]], sizeGreaterThan: 500, sizeLessThan: 64000 })
    const [dated] = rulesOf(examples[7]![1])
    expect(dated!.expiration?.date).toBe(utc(2027, 1, 1))
    expect(rulesOf("<Rule><Prefix>a/</Prefix><Status>Enabled</Status><Expiration><Date>2027-02-03</Date></Expiration></Rule>")[0]!.expiration?.date).toBe(utc(2027, 2, 3))
    const [newer] = rulesOf(examples[5]![1])
    expect(newer!.noncurrentExpiration).toEqual({ noncurrentDays: 30, newerNoncurrentVersions: 5 })
  })

  it("names rules without an ID uniquely, and keeps the IDs given", () => {
    const rules = rulesOf(
      "<Rule><Prefix>a/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>" +
        "<Rule><ID>rule-1</ID><Prefix>b/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
    )
    expect(rules.map((r) => r.id)).toEqual(["rule-2", "rule-1"])
  })

  const rule = (inner: string) => `<Rule><ID>r</ID>${inner}</Rule>`
  const expire = "<Expiration><Days>1</Days></Expiration>"
  it.each([
    ["an ID over 255 characters", `<Rule><ID>${"a".repeat(256)}</ID><Prefix/><Status>Enabled</Status>${expire}</Rule>`, "InvalidArgument"],
    ["an ID of 255 characters", `<Rule><ID>${"a".repeat(255)}</ID><Prefix/><Status>Enabled</Status>${expire}</Rule>`, "accepted"],
    ["two rules with one ID", rule(`<Prefix>a</Prefix><Status>Enabled</Status>${expire}`) + rule(`<Prefix>b</Prefix><Status>Enabled</Status>${expire}`), "InvalidArgument"],
    ["Status in lower case", rule(`<Prefix/><Status>enabled</Status>${expire}`), "MalformedXML"],
    ["no Status", rule(`<Prefix/>${expire}`), "MalformedXML"],
    ["Days 0", rule("<Prefix/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>"), "InvalidArgument"],
    ["Days not a number", rule("<Prefix/><Status>Enabled</Status><Expiration><Days>one</Days></Expiration>"), "MalformedXML"],
    ["a Date not at midnight", rule("<Prefix/><Status>Enabled</Status><Expiration><Date>2027-01-01T10:00:00Z</Date></Expiration>"), "InvalidArgument"],
    ["a Date that is no date", rule("<Prefix/><Status>Enabled</Status><Expiration><Date>20200101</Date></Expiration>"), "MalformedXML"],
    ["February 30", rule("<Prefix/><Status>Enabled</Status><Expiration><Date>2027-02-30</Date></Expiration>"), "MalformedXML"],
    ["Days and Date", rule("<Prefix/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2027-01-01</Date></Expiration>"), "MalformedXML"],
    ["ExpiredObjectDeleteMarker with Days", rule("<Prefix/><Status>Enabled</Status><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"), "InvalidArgument"],
    ["an empty Expiration", rule("<Prefix/><Status>Enabled</Status><Expiration></Expiration>"), "MalformedXML"],
    ["Filter and Prefix", rule(`<Prefix>a</Prefix><Filter><Prefix>b</Prefix></Filter><Status>Enabled</Status>${expire}`), "MalformedXML"],
    ["two conditions without And", rule(`<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>${expire}`), "MalformedXML"],
    ["one tag key twice in And", rule(`<Filter><And><Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>k</Key><Value>w</Value></Tag></And></Filter><Status>Enabled</Status>${expire}`), "InvalidRequest"],
    ["sizes the wrong way round", rule(`<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>${expire}`), "InvalidArgument"],
    ["no action", rule("<Prefix/><Status>Enabled</Status>"), "InvalidRequest"],
    ["NoncurrentDays 0", rule("<Prefix/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>"), "InvalidArgument"],
    ["NewerNoncurrentVersions 101", rule("<Prefix/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>"), "InvalidArgument"],
    ["DaysAfterInitiation 0", rule("<Prefix/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>"), "InvalidArgument"],
    ["upload abort with a tag filter", rule("<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>"), "InvalidRequest"],
    ["a transition (no storage classes)", rule(`<Prefix/><Status>Enabled</Status>${expire}<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>`), "NotImplemented"],
    ["a transition with a bad date", rule(`<Prefix/><Status>Enabled</Status>${expire}<Transition><Date>20220927</Date><StorageClass>GLACIER</StorageClass></Transition>`), "MalformedXML"],
    ["no rules", "", "MalformedXML"]
  ])("refuses %s as AWS does", (_name, rules, code) => {
    expect(codeOf(rules)).toBe(code)
  })

  it("takes 1000 rules and refuses 1001", () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `<Rule><ID>r${i}</ID><Prefix>p${i}/</Prefix><Status>Enabled</Status>${expire}</Rule>`).join("")
    expect(codeOf(many(MAX_RULES))).toBe("accepted")
    expect(codeOf(many(MAX_RULES + 1))).toBe("MalformedXML")
  })
})

describe("lifecycle time and matching", () => {
  it("rounds an expiry up to the next midnight UTC, as AWS's example says", () => {
    // "An object created at 10:30 UTC on January 15 with Days 3 expires at 00:00 UTC on January 19."
    expect(dueAfterDays(utc(2014, 1, 15, 10, 30), 3)).toBe(utc(2014, 1, 19))
    expect(dueAfterDays(utc(2014, 1, 15), 3)).toBe(utc(2014, 1, 18))
    // The debug day: no rounding.
    expect(dueAfterDays(1_000, 3, 10_000)).toBe(31_000)
  })

  it("matches prefix, every tag and strict size bounds", () => {
    const [and] = rulesOf(examples[3]![1])
    const subject = { key: "projectA/x", size: 501, tags: [["key2", "value2"], ["key1", "value1"], ["other", "x"]] as const }
    expect(filterMatches(and!.filter, subject)).toBe(true)
    expect(filterMatches(and!.filter, { ...subject, key: "projectB/x" })).toBe(false)
    expect(filterMatches(and!.filter, { ...subject, tags: [["key1", "value1"]] })).toBe(false)
    expect(filterMatches(and!.filter, { ...subject, tags: [["key1", "value1"], ["key2", "other"]] })).toBe(false)
    expect(filterMatches(and!.filter, { ...subject, size: 500 })).toBe(false)
    expect(filterMatches(and!.filter, { ...subject, size: 64000 })).toBe(false)
  })

  it("answers the earliest expiry of the enabled rules that match, in S3's header form", () => {
    const rules = rulesOf(
      "<Rule><ID>late</ID><Prefix>a/</Prefix><Status>Enabled</Status><Expiration><Days>10</Days></Expiration></Rule>" +
        "<Rule><ID>off</ID><Prefix>a/</Prefix><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>" +
        "<Rule><ID>early rule</ID><Prefix>a/b</Prefix><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>"
    )
    const created = utc(2026, 12, 7, 21)
    const due = currentExpiry(rules, { key: "a/b", size: 1, tags: [] }, created)
    expect(due).toEqual({ dueMs: utc(2026, 12, 10), ruleId: "early rule" })
    expect(expirationHeader(due!)).toBe(`expiry-date="${httpDate(utc(2026, 12, 10))}", rule-id="early%20rule"`)
    expect(currentExpiry(rules, { key: "b/", size: 1, tags: [] }, created)).toBeUndefined()
  })
})
