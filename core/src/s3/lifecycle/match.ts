/**
 * Which lifecycle rules apply to an object, and when its current version
 * expires: the filter test AWS applies (the key starts with the prefix,
 * every tag of the filter is on the object with that value, the size is
 * strictly between the bounds) and the `x-amz-expiration` header S3 sends
 * on PUT, HEAD and GET of an object a rule will expire.
 */
import type { Attributes } from "../../object/object-api.ts"
import { tagsOf } from "../attributes.ts"
import { DAY_MS, dueAfterDays } from "./dates.ts"
import { type LifecycleFilter, type LifecycleRule, lifecycleRulesOf } from "./rules.ts"
import { httpDate } from "../time.ts"

export interface LifecycleSubject {
  readonly key: string
  readonly size: number
  /** The object's tags (an upload or a delete marker has none). */
  readonly tags: ReadonlyArray<readonly [string, string]>
}

export const subjectOf = (object: { readonly key: string; readonly size: number; readonly attributes: Attributes }): LifecycleSubject => ({
  key: object.key,
  size: object.size,
  tags: tagsOf(object.attributes)
})

export const filterMatches = (filter: LifecycleFilter, subject: LifecycleSubject): boolean =>
  subject.key.startsWith(filter.prefix ?? "") &&
  filter.tags.every(([k, v]) => subject.tags.some(([tk, tv]) => tk === k && tv === v)) &&
  (filter.sizeGreaterThan === undefined || subject.size > filter.sizeGreaterThan) &&
  (filter.sizeLessThan === undefined || subject.size < filter.sizeLessThan)

/** The enabled rules whose filter the subject passes. */
export const rulesFor = (rules: ReadonlyArray<LifecycleRule>, subject: LifecycleSubject): ReadonlyArray<LifecycleRule> =>
  rules.filter((rule) => rule.enabled && filterMatches(rule.filter, subject))

export interface DueExpiration {
  readonly dueMs: number
  readonly ruleId: string
}

/** When the current version created at `createdMs` expires, and by which rule (the earliest); undefined: never. */
export const currentExpiry = (rules: ReadonlyArray<LifecycleRule>, subject: LifecycleSubject, createdMs: number, dayMs: number = DAY_MS): DueExpiration | undefined => {
  let due: DueExpiration | undefined
  for (const rule of rulesFor(rules, subject)) {
    const e = rule.expiration
    const at = e?.days !== undefined ? dueAfterDays(createdMs, e.days, dayMs) : e?.date
    if (at !== undefined && (due === undefined || at < due.dueMs)) due = { dueMs: at, ruleId: rule.id }
  }
  return due
}

/**
 * S3's `x-amz-expiration` value: `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"`;
 * "the value of the rule-id is URL-encoded", as AWS documents.
 */
export const expirationHeader = (due: DueExpiration): string => `expiry-date="${httpDate(due.dueMs)}", rule-id="${encodeURIComponent(due.ruleId)}"`

/** The `x-amz-expiration` header for a current version in a bucket with these attributes (none when no rule expires it). */
export const expirationHeaders = (
  bucketAttributes: Attributes,
  object: { readonly key: string; readonly size: number; readonly attributes: Attributes; readonly createdMs: number }
): Array<readonly [string, string]> => {
  const rules = lifecycleRulesOf(bucketAttributes)
  const due = rules === undefined ? undefined : currentExpiry(rules, subjectOf(object), object.createdMs)
  return due === undefined ? [] : [["x-amz-expiration", expirationHeader(due)]]
}
