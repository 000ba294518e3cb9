/**
 * The `LifecycleConfiguration` GetBucketLifecycleConfiguration answers:
 * the stored rules written back the way the client wrote them (a legacy
 * rule-level `<Prefix>` stays one, a `<Filter>` keeps its one condition or
 * its `<And>`), so a client that compares what it put with what it gets
 * finds them equal.
 */
import { isoDate } from "../time.ts"
import { s3Root, type Xml, type XmlChild, xmlElement, xmlOptional } from "../xml-render.ts"
import type { LifecycleFilter, LifecycleRule } from "./rules.ts"

const tagXml = ([key, value]: readonly [string, string]) => xmlElement("Tag", [xmlElement("Key", key), xmlElement("Value", value)])

const conditionsXml = (f: LifecycleFilter): XmlChild => [
  xmlOptional("Prefix", f.prefix),
  f.tags.map(tagXml),
  xmlOptional("ObjectSizeGreaterThan", f.sizeGreaterThan),
  xmlOptional("ObjectSizeLessThan", f.sizeLessThan)
]

const filterXml = (f: LifecycleFilter): XmlChild => {
  if (f.form === "legacy") return xmlElement("Prefix", f.prefix ?? "")
  return xmlElement("Filter", f.form === "and" ? xmlElement("And", conditionsXml(f)) : conditionsXml(f))
}

const ruleXml = (rule: LifecycleRule): Xml =>
  xmlElement("Rule", [
    xmlElement("ID", rule.id),
    filterXml(rule.filter),
    xmlElement("Status", rule.enabled ? "Enabled" : "Disabled"),
    rule.expiration === undefined ? undefined : xmlElement("Expiration", [
      xmlOptional("Days", rule.expiration.days),
      xmlOptional("Date", rule.expiration.date === undefined ? undefined : isoDate(rule.expiration.date)),
      xmlOptional("ExpiredObjectDeleteMarker", rule.expiration.expiredObjectDeleteMarker)
    ]),
    rule.noncurrentExpiration === undefined ? undefined : xmlElement("NoncurrentVersionExpiration", [
      xmlElement("NoncurrentDays", rule.noncurrentExpiration.noncurrentDays),
      xmlOptional("NewerNoncurrentVersions", rule.noncurrentExpiration.newerNoncurrentVersions)
    ]),
    rule.abortIncompleteMultipartUpload === undefined
      ? undefined
      : xmlElement("AbortIncompleteMultipartUpload", xmlElement("DaysAfterInitiation", rule.abortIncompleteMultipartUpload.daysAfterInitiation))
  ])

export const lifecycleConfigurationXml = (rules: ReadonlyArray<LifecycleRule>): Xml => s3Root("LifecycleConfiguration", rules.map(ruleXml))
