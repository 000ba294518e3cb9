/**
 * A bucket's lifecycle configuration as Cairn keeps it: the rules of a
 * `LifecycleConfiguration` (PutBucketLifecycleConfiguration), already
 * validated (parse.ts), stored as JSON in the bucket's `lifecycle`
 * attribute beside its CORS rules and tags, and read back by GET, by the
 * `x-amz-expiration` header and by the lifecycle worker (worker.ts).
 *
 * A filter is what AWS's `<Filter>` (or the legacy rule-level `<Prefix>`)
 * says, flattened: a key prefix, tags that must all be on the object, and
 * size bounds (strict, as AWS's ObjectSizeGreaterThan/LessThan). `form`
 * remembers how the client wrote it, so GET answers it the same way.
 */
import type { Attributes } from "../../object/object-api.ts"
import { attribute } from "../attributes.ts"

export interface LifecycleFilter {
  /** How the client wrote it: `<Prefix>` on the rule (legacy), or a `<Filter>` with one condition or an `<And>`. */
  readonly form: "legacy" | "filter" | "and"
  readonly prefix: string | undefined
  readonly tags: ReadonlyArray<readonly [string, string]>
  readonly sizeGreaterThan: number | undefined
  readonly sizeLessThan: number | undefined
}

export interface LifecycleExpiration {
  readonly days: number | undefined
  /** Epoch ms of a midnight UTC. */
  readonly date: number | undefined
  readonly expiredObjectDeleteMarker: boolean | undefined
}

export interface LifecycleRule {
  readonly id: string
  readonly enabled: boolean
  readonly filter: LifecycleFilter
  readonly expiration: LifecycleExpiration | undefined
  readonly noncurrentExpiration: { readonly noncurrentDays: number; readonly newerNoncurrentVersions: number | undefined } | undefined
  readonly abortIncompleteMultipartUpload: { readonly daysAfterInitiation: number } | undefined
}

/** The bucket attribute the rules are kept in. */
export const LIFECYCLE_ATTRIBUTE = "lifecycle"

/** The rules as stored. */
export const encodeRules = (rules: ReadonlyArray<LifecycleRule>): string => JSON.stringify(rules)

/**
 * The rules a bucket's attributes hold; undefined when it has none. The value was written by
 * `encodeRules` after validation, so a value that is not a list is a bucket without rules
 * (never a crash of the worker or of a GET).
 */
export const lifecycleRulesOf = (attributes: Attributes): ReadonlyArray<LifecycleRule> | undefined => {
  const text = attribute(attributes, LIFECYCLE_ATTRIBUTE)
  if (text === undefined) return undefined
  try {
    const rules: unknown = JSON.parse(text)
    return Array.isArray(rules) ? (rules as ReadonlyArray<LifecycleRule>) : undefined
  } catch {
    return undefined
  }
}
