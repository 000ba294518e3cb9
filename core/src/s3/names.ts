/**
 * Bucket and object key rules (the general-purpose bucket rules of S3), so
 * a name that S3 would refuse is refused here too and clients see the same
 * errors everywhere.
 */
import { utf8Length } from "../kv/keys.ts"
import { type S3Error, s3Error } from "./errors.ts"

export const MAX_KEY_BYTES = 1024

/** Why `name` is not a valid bucket name, or undefined. */
export const bucketNameProblem = (name: string): string | undefined => {
  if (name.length < 3 || name.length > 63) return "must be 3 to 63 characters long"
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return "may contain only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit"
  if (name.includes("..")) return "must not contain two adjacent dots"
  if (name.includes(".-") || name.includes("-.")) return "must not have a dot next to a hyphen"
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)) return "must not be formatted as an IP address"
  for (const prefix of ["xn--", "sthree-", "amzn-s3-demo-"]) if (name.startsWith(prefix)) return `must not start with ${prefix}`
  for (const suffix of ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]) if (name.endsWith(suffix)) return `must not end with ${suffix}`
  return undefined
}

export const checkBucketName = (name: string): S3Error | undefined => {
  const problem = bucketNameProblem(name)
  return problem === undefined ? undefined : s3Error("InvalidBucketName", `The specified bucket is not valid: the name ${problem}`, [["BucketName", name]])
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Keys are 1..1024 bytes of UTF-8; a lone surrogate cannot be stored faithfully, so it is refused. */
export const checkKey = (key: string): S3Error | undefined => {
  if (key.length === 0) return s3Error("InvalidArgument", "The object key must not be empty")
  if (utf8Length(key) > MAX_KEY_BYTES) return s3Error("KeyTooLongError", "Your key is too long", [["MaxSizeAllowed", String(MAX_KEY_BYTES)]])
  if (LONE_SURROGATE.test(key)) return s3Error("InvalidArgument", "The object key is not valid UTF-8")
  return undefined
}
