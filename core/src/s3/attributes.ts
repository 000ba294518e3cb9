/**
 * How S3 state is kept in the store's opaque attribute pairs, and how it
 * maps to and from HTTP headers: the ETag, the standard headers, user
 * metadata (`x-amz-meta-*`), tags and the client's checksums of an object;
 * tags and the CORS configuration of a bucket.
 *
 * Names: `etag`, the standard header names (`content-type`, ...),
 * `meta:<name>`, `tag:<key>`, `checksum:<algorithm>`, and for buckets
 * `tag:<key>` and `cors` (JSON).
 */
import type { Attributes } from "../object/object-api.ts"
import { S3Error, s3Error } from "./errors.ts"
import type { ChecksumAlgorithm } from "./payload.ts"
import type { S3Request } from "./request.ts"

export const STANDARD_HEADERS = ["content-type", "cache-control", "content-disposition", "content-encoding", "content-language", "expires"] as const
export const DEFAULT_CONTENT_TYPE = "binary/octet-stream"
/** S3's limit on the user metadata of one object (names and values). */
export const MAX_METADATA_BYTES = 2048
export const MAX_OBJECT_TAGS = 10
export const MAX_BUCKET_TAGS = 50

export const attribute = (attributes: Attributes, name: string): string | undefined => attributes.find(([n]) => n === name)?.[1]

export const withoutPrefix = (attributes: Attributes, prefix: string): Attributes => attributes.filter(([n]) => !n.startsWith(prefix))
export const withoutNames = (attributes: Attributes, names: ReadonlyArray<string>): Attributes => attributes.filter(([n]) => !names.includes(n))

export const etagOf = (attributes: Attributes): string => attribute(attributes, "etag") ?? '"00000000000000000000000000000000"'

/** An ETag without quotes (and a W/ prefix), for comparisons. */
export const bareEtag = (etag: string): string => etag.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1")

export const tagsOf = (attributes: Attributes): ReadonlyArray<readonly [string, string]> =>
  attributes.filter(([n]) => n.startsWith("tag:")).map(([n, v]) => [n.slice(4), v] as const)

export const checksumsOf = (attributes: Attributes): ReadonlyArray<readonly [ChecksumAlgorithm, string]> =>
  attributes.filter(([n]) => n.startsWith("checksum:")).map(([n, v]) => [n.slice(9) as ChecksumAlgorithm, v] as const)

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length

/** Object tags: at most 10, keys 1..128 and values 0..256 characters, keys unique. */
export const checkTags = (tags: ReadonlyArray<readonly [string, string]>, max: number): S3Error | undefined => {
  if (tags.length > max) return s3Error("InvalidTag", `Object tags cannot be greater than ${max}`)
  const seen = new Set<string>()
  for (const [k, v] of tags) {
    if (k.length === 0 || k.length > 128) return s3Error("InvalidTag", "The TagKey you have provided is invalid")
    if (v.length > 256) return s3Error("InvalidTag", "The TagValue you have provided is too long")
    if (seen.has(k)) return s3Error("InvalidTag", "Cannot provide multiple Tags with the same key")
    seen.add(k)
  }
  return undefined
}

/** The `x-amz-tagging` header: a URL query string of tags. */
export const parseTaggingHeader = (text: string): ReadonlyArray<readonly [string, string]> | S3Error => {
  const out: Array<readonly [string, string]> = []
  for (const part of text.split("&")) {
    if (part === "") continue
    const eq = part.indexOf("=")
    try {
      const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "))
      out.push([decode(eq < 0 ? part : part.slice(0, eq)), decode(eq < 0 ? "" : part.slice(eq + 1))])
    } catch {
      return s3Error("InvalidArgument", "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
    }
  }
  // A tag set is a set: kept in key order, as S3 lists a header's tags.
  return checkTags(out, MAX_OBJECT_TAGS) ?? out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/** The object attributes a PutObject, CreateMultipartUpload or CopyObject (REPLACE) request asks for. */
export const attributesFromHeaders = (request: S3Request): Attributes | S3Error => {
  const out: Array<readonly [string, string]> = []
  for (const name of STANDARD_HEADERS) {
    let value = request.headers.get(name)
    if (value === undefined) continue
    // aws-chunked is how this request's body travelled, not how the object is encoded.
    if (name === "content-encoding") value = value.split(",").map((s) => s.trim()).filter((s) => s !== "" && s !== "aws-chunked").join(", ")
    if (value !== "") out.push([name, value])
  }
  let metadataBytes = 0
  for (const [name, value] of request.headers) {
    if (!name.startsWith("x-amz-meta-")) continue
    const short = name.slice("x-amz-meta-".length)
    metadataBytes += utf8Bytes(short) + utf8Bytes(value)
    out.push([`meta:${short}`, value])
  }
  if (metadataBytes > MAX_METADATA_BYTES) return s3Error("MetadataTooLarge", `Your metadata headers exceed the maximum allowed metadata size (${MAX_METADATA_BYTES} bytes)`)
  const tagging = request.headers.get("x-amz-tagging")
  if (tagging !== undefined) {
    const tags = parseTaggingHeader(tagging)
    if (tags instanceof S3Error) return tags
    for (const [k, v] of tags) out.push([`tag:${k}`, v])
  }
  return out
}

/** The response headers of an object's attributes (GetObject, HeadObject). */
export const headersFromAttributes = (attributes: Attributes, withChecksums: boolean): Array<readonly [string, string]> => {
  const out: Array<readonly [string, string]> = [["etag", etagOf(attributes)]]
  out.push(["content-type", attribute(attributes, "content-type") ?? DEFAULT_CONTENT_TYPE])
  for (const name of STANDARD_HEADERS) {
    if (name === "content-type") continue
    const value = attribute(attributes, name)
    if (value !== undefined) out.push([name, value])
  }
  for (const [n, v] of attributes) if (n.startsWith("meta:")) out.push([`x-amz-meta-${n.slice(5)}`, v])
  const tags = tagsOf(attributes).length
  if (tags > 0) out.push(["x-amz-tagging-count", String(tags)])
  if (withChecksums) for (const [a, v] of checksumsOf(attributes)) out.push([`x-amz-checksum-${a}`, v])
  return out
}
