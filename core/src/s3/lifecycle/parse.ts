/**
 * Parsing and validating a `LifecycleConfiguration` body
 * (PutBucketLifecycleConfiguration) as AWS does: the shape is checked
 * against the schema (`MalformedXML` for a missing, repeated or unknown
 * element, a Status other than `Enabled`/`Disabled`, a number that is not
 * one), the values against AWS's rules with AWS's codes and messages
 * (`InvalidArgument` for an ID over 255 characters, a repeated ID, Days
 * that are not positive, a Date not at midnight UTC). Transitions name
 * storage classes Cairn does not have: a valid one is `501
 * NotImplemented`, never silently ignored.
 */
import { S3Error, s3Error } from "../errors.ts"
import { asNode, malformed, parseXmlRoot, xmlList, xmlText, type XmlNode } from "../xml-parse.ts"
import { parseLifecycleDate } from "./dates.ts"
import type { LifecycleExpiration, LifecycleFilter, LifecycleRule } from "./rules.ts"

/** AWS's limit: "An Amazon S3 Lifecycle configuration can have up to 1,000 rules." */
export const MAX_RULES = 1000
const MAX_ID_LENGTH = 255

const has = (node: XmlNode, name: string) => node[name] !== undefined

/** A whole number of days (or bytes) as XML gives it; undefined when absent, S3Error when not a number. */
const wholeNumber = (node: XmlNode, name: string): number | undefined | S3Error => {
  if (!has(node, name)) return undefined
  const raw = xmlText(node, name)?.trim()
  if (raw === undefined || !/^-?\d{1,15}$/.test(raw)) return malformed(`${name} must be a whole number`)
  return Number(raw)
}

const positive = (value: number | undefined | S3Error, message: string): number | undefined | S3Error =>
  value instanceof S3Error || value === undefined || value > 0 ? value : s3Error("InvalidArgument", message)

const parseTag = (raw: unknown): readonly [string, string] | S3Error => {
  const tag = asNode(raw)
  const key = xmlText(tag, "Key")
  if (key === undefined) return malformed("Tag needs a Key")
  if (key.length === 0 || key.length > 128) return s3Error("InvalidTag", "The TagKey you have provided is invalid")
  const value = xmlText(tag, "Value") ?? ""
  if (value.length > 256) return s3Error("InvalidTag", "The TagValue you have provided is too long")
  return [key, value]
}

/** The conditions of a `<Filter>` or of its `<And>`: prefix, tags, size bounds. */
const parseConditions = (node: XmlNode, form: LifecycleFilter["form"]): LifecycleFilter | S3Error => {
  const tags: Array<readonly [string, string]> = []
  for (const raw of xmlList(node, "Tag")) {
    const tag = parseTag(raw)
    if (tag instanceof S3Error) return tag
    if (tags.some(([k]) => k === tag[0])) return s3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.")
    tags.push(tag)
  }
  // `<Tags>` is how boto3 and the SDKs write the And's tags: each `<Tag>` inside it.
  for (const raw of xmlList(asNode(node.Tags), "Tag")) {
    const tag = parseTag(raw)
    if (tag instanceof S3Error) return tag
    if (tags.some(([k]) => k === tag[0])) return s3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.")
    tags.push(tag)
  }
  const greater = wholeNumber(node, "ObjectSizeGreaterThan")
  if (greater instanceof S3Error) return greater
  const less = wholeNumber(node, "ObjectSizeLessThan")
  if (less instanceof S3Error) return less
  if ((greater !== undefined && greater < 0) || (less !== undefined && less < 0)) return s3Error("InvalidArgument", "Object size filters must be non-negative")
  if (greater !== undefined && less !== undefined && greater >= less) {
    return s3Error("InvalidArgument", "ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
  }
  return { form, prefix: xmlText(node, "Prefix"), tags, sizeGreaterThan: greater, sizeLessThan: less }
}

/** A rule's `<Filter>` (at most one condition, or an `<And>`) or legacy `<Prefix>`; neither: every object. */
const parseFilter = (rule: XmlNode): LifecycleFilter | S3Error => {
  if (has(rule, "Filter") && has(rule, "Prefix")) return malformed("a Rule has either a Filter or a Prefix, not both")
  if (!has(rule, "Filter")) return { form: "legacy", prefix: xmlText(rule, "Prefix") ?? "", tags: [], sizeGreaterThan: undefined, sizeLessThan: undefined }
  const filter = asNode(rule.Filter)
  const conditions = ["Prefix", "Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan"].filter((name) => has(filter, name))
  if (conditions.length > 1 || xmlList(filter, "Tag").length > 1) return malformed("a Filter holds one condition; several go in an And")
  if (has(filter, "And")) {
    if (has(asNode(filter.And), "And")) return malformed("And cannot be nested")
    return parseConditions(asNode(filter.And), "and")
  }
  return parseConditions(filter, "filter")
}

const parseExpiration = (node: XmlNode): LifecycleExpiration | S3Error => {
  const given = ["Days", "Date", "ExpiredObjectDeleteMarker"].filter((name) => has(node, name))
  if (given.length === 0) return malformed("Expiration needs Days, Date or ExpiredObjectDeleteMarker")
  if (given.length > 1) {
    return given.includes("ExpiredObjectDeleteMarker")
      ? s3Error("InvalidArgument", "ExpiredObjectDeleteMarker cannot be specified with Days or Date in a Lifecycle Expiration Policy.")
      : malformed("Expiration takes Days or Date, not both")
  }
  const days = positive(wholeNumber(node, "Days"), "'Days' for Expiration action must be a positive integer")
  if (days instanceof S3Error) return days
  const date = has(node, "Date") ? parseLifecycleDate(xmlText(node, "Date") ?? "") : undefined
  if (date instanceof S3Error) return date
  const marker = xmlText(node, "ExpiredObjectDeleteMarker")?.trim()
  if (marker !== undefined && marker !== "true" && marker !== "false") return malformed("ExpiredObjectDeleteMarker must be true or false")
  return { days, date, expiredObjectDeleteMarker: marker === undefined ? undefined : marker === "true" }
}

/**
 * Transitions move objects to another storage class; Cairn has one (STANDARD). A transition that is
 * valid is refused as not implemented, after its own values are checked as AWS checks them.
 */
const refuseTransitions = (rule: XmlNode): S3Error | undefined => {
  const transitions = [...xmlList(rule, "Transition"), ...xmlList(asNode(rule.Transitions), "Transition"), ...xmlList(rule, "NoncurrentVersionTransition")]
  if (transitions.length === 0) return undefined
  for (const raw of transitions) {
    const t = asNode(raw)
    if (has(t, "Date")) {
      const date = parseLifecycleDate(xmlText(t, "Date") ?? "")
      if (date instanceof S3Error) return date
    }
    const days = wholeNumber(t, has(t, "NoncurrentDays") ? "NoncurrentDays" : "Days")
    if (days instanceof S3Error) return days
    if (days !== undefined && days < 0) return s3Error("InvalidArgument", "'Days' in Transition action must be nonnegative")
  }
  return s3Error("NotImplemented", "Lifecycle transitions are not supported: Cairn has one storage class (STANDARD)")
}

const parseActions = (node: XmlNode, filter: LifecycleFilter) => {
  const expiration = has(node, "Expiration") ? parseExpiration(asNode(node.Expiration)) : undefined
  if (expiration instanceof S3Error) return expiration
  const noncurrent = asNode(node.NoncurrentVersionExpiration)
  const noncurrentDays = has(node, "NoncurrentVersionExpiration")
    ? positive(wholeNumber(noncurrent, "NoncurrentDays") ?? 0, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
    : undefined
  if (noncurrentDays instanceof S3Error) return noncurrentDays
  const newer = wholeNumber(noncurrent, "NewerNoncurrentVersions")
  if (newer instanceof S3Error) return newer
  if (newer !== undefined && (newer < 1 || newer > 100)) return s3Error("InvalidArgument", "NewerNoncurrentVersions must be between 1 and 100")
  const abort = asNode(node.AbortIncompleteMultipartUpload)
  const abortDays = has(node, "AbortIncompleteMultipartUpload")
    ? positive(wholeNumber(abort, "DaysAfterInitiation") ?? 0, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
    : undefined
  if (abortDays instanceof S3Error) return abortDays
  if (filter.tags.length > 0 && abortDays !== undefined) return s3Error("InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags.")
  if (filter.tags.length > 0 && expiration?.expiredObjectDeleteMarker !== undefined) {
    return s3Error("InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with Tags.")
  }
  const transitions = refuseTransitions(node)
  if (expiration === undefined && noncurrentDays === undefined && abortDays === undefined) {
    return transitions ?? s3Error("InvalidRequest", "At least one action needs to be specified in a rule")
  }
  if (transitions !== undefined) return transitions
  return {
    expiration,
    noncurrentExpiration: noncurrentDays === undefined ? undefined : { noncurrentDays, newerNoncurrentVersions: newer },
    abortIncompleteMultipartUpload: abortDays === undefined ? undefined : { daysAfterInitiation: abortDays }
  }
}

const parseRule = (raw: unknown): Omit<LifecycleRule, "id"> & { readonly id: string | undefined } | S3Error => {
  const node = asNode(raw)
  const id = xmlText(node, "ID")
  if (id !== undefined && id.length > MAX_ID_LENGTH) return s3Error("InvalidArgument", "ID length should not exceed allowed limit of 255")
  const status = xmlText(node, "Status")?.trim()
  if (status !== "Enabled" && status !== "Disabled") return malformed("Status must be Enabled or Disabled")
  const filter = parseFilter(node)
  if (filter instanceof S3Error) return filter
  const actions = parseActions(node, filter)
  if (actions instanceof S3Error) return actions
  return { id: id === undefined || id === "" ? undefined : id, enabled: status === "Enabled", filter, ...actions }
}

/** The validated rules of a PutBucketLifecycleConfiguration body; a rule without an ID gets one (unique in the set). */
export const parseLifecycleConfiguration = (body: Uint8Array): ReadonlyArray<LifecycleRule> | S3Error => {
  const root = parseXmlRoot(body, "LifecycleConfiguration")
  if (root instanceof S3Error) return root
  const raws = xmlList(root, "Rule")
  if (raws.length === 0) return malformed("no Rule elements")
  if (raws.length > MAX_RULES) return malformed(`at most ${MAX_RULES} rules`)
  const parsed: Array<Omit<LifecycleRule, "id"> & { readonly id: string | undefined }> = []
  for (const raw of raws) {
    const rule = parseRule(raw)
    if (rule instanceof S3Error) return rule
    parsed.push(rule)
  }
  const ids = new Set<string>()
  for (const rule of parsed) {
    if (rule.id === undefined) continue
    if (ids.has(rule.id)) return s3Error("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule")
    ids.add(rule.id)
  }
  let next = 1
  const freshId = () => {
    while (ids.has(`rule-${next}`)) next++
    ids.add(`rule-${next}`)
    return `rule-${next}`
  }
  return parsed.map((rule) => ({ ...rule, id: rule.id ?? freshId() }))
}
