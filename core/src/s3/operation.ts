/**
 * The S3 operation a request names (GetObject, PutObject, ListObjectsV2,
 * CompleteMultipartUpload, ...), from its shape alone: method, bucket/key,
 * subresource and a few headers — the way AWS names operations in its own
 * metrics and access logs. Metrics and the access log label requests with
 * it, so it is computed before authentication and for requests that fail.
 *
 * The names follow the handler's routing (handler.ts), including for
 * subresources that answer 501, so an operator sees which unsupported
 * operation clients try. The set of names is fixed (nothing from the request
 * becomes a name), which keeps metric label values bounded.
 */
import { hasQuery, parseQuery, queryValue, type Query, resolveTarget, type S3Request } from "./request.ts"
import { S3Error } from "./errors.ts"

export interface S3OperationInfo {
  /** A fixed S3 operation name, or "Unknown" for a request that names none. */
  readonly operation: string
  /** The addressed bucket and key when the path could be decoded. */
  readonly bucket: string | undefined
  readonly key: string | undefined
}

const verb = (method: string): "Get" | "Put" | "Delete" | undefined =>
  method === "GET" ? "Get" : method === "PUT" ? "Put" : method === "DELETE" ? "Delete" : undefined

/** `${verb}${noun}`, or "Unknown" for a method the noun has no operation for. */
const named = (method: string, noun: string): string => {
  const v = verb(method === "HEAD" ? "GET" : method)
  return v === undefined ? "Unknown" : `${v}${noun}`
}

/** Bucket subresources the handler answers 501 for (any method) → the noun of their operations. */
const unsupportedBucket: ReadonlyArray<readonly [string, string]> = [
  ["policyStatus", "BucketPolicyStatus"],
  ["policy", "BucketPolicy"],
  ["acl", "BucketAcl"],
  ["replication", "BucketReplication"],
  ["website", "BucketWebsite"],
  ["logging", "BucketLogging"],
  ["notification", "BucketNotificationConfiguration"],
  ["encryption", "BucketEncryption"],
  ["object-lock", "ObjectLockConfiguration"],
  ["ownershipControls", "BucketOwnershipControls"],
  ["publicAccessBlock", "PublicAccessBlock"],
  ["accelerate", "BucketAccelerateConfiguration"],
  ["requestPayment", "BucketRequestPayment"],
  ["analytics", "BucketAnalyticsConfiguration"],
  ["inventory", "BucketInventoryConfiguration"],
  ["metrics", "BucketMetricsConfiguration"],
  ["intelligent-tiering", "BucketIntelligentTieringConfiguration"]
]

/** Object subresources the handler answers 501 for (any method). */
const unsupportedObject: ReadonlyArray<readonly [string, string]> = [
  ["acl", "ObjectAcl"],
  ["retention", "ObjectRetention"],
  ["legal-hold", "ObjectLegalHold"],
  ["torrent", "ObjectTorrent"]
]

const bucketOperation = (method: string, query: Query): string => {
  const q = (name: string) => hasQuery(query, name)
  if (q("versioning")) return method === "GET" || method === "PUT" ? named(method, "BucketVersioning") : "Unknown"
  if (q("session")) return "CreateSession"
  // AWS names the delete DeleteBucketLifecycle (there is no DeleteBucketLifecycleConfiguration).
  if (q("lifecycle")) return method === "DELETE" ? "DeleteBucketLifecycle" : method === "GET" || method === "PUT" ? named(method, "BucketLifecycleConfiguration") : "Unknown"
  const unsupported = unsupportedBucket.find(([name]) => q(name))
  if (unsupported !== undefined) return named(method, unsupported[1])
  switch (method) {
    case "GET":
      if (q("location")) return "GetBucketLocation"
      if (q("cors")) return "GetBucketCors"
      if (q("tagging")) return "GetBucketTagging"
      if (q("uploads")) return "ListMultipartUploads"
      if (q("versions")) return "ListObjectVersions"
      return queryValue(query, "list-type") === "2" ? "ListObjectsV2" : "ListObjects"
    case "HEAD":
      return "HeadBucket"
    case "PUT":
      if (q("cors")) return "PutBucketCors"
      if (q("tagging")) return "PutBucketTagging"
      return "CreateBucket"
    case "DELETE":
      if (q("cors")) return "DeleteBucketCors"
      if (q("tagging")) return "DeleteBucketTagging"
      return "DeleteBucket"
    case "POST":
      return q("delete") ? "DeleteObjects" : "PostObject"
    default:
      return "Unknown"
  }
}

const objectOperation = (method: string, query: Query, headers: ReadonlyMap<string, string>): string => {
  const q = (name: string) => hasQuery(query, name)
  if (q("restore")) return "RestoreObject"
  if (q("select")) return "SelectObjectContent"
  const unsupported = unsupportedObject.find(([name]) => q(name))
  if (unsupported !== undefined) return named(method, unsupported[1])
  const uploadId = queryValue(query, "uploadId") !== undefined
  const copy = headers.has("x-amz-copy-source")
  switch (method) {
    case "GET":
      if (uploadId) return "ListParts"
      if (q("tagging")) return "GetObjectTagging"
      if (q("attributes")) return "GetObjectAttributes"
      return "GetObject"
    case "HEAD":
      return "HeadObject"
    case "PUT":
      if (uploadId) return copy ? "UploadPartCopy" : "UploadPart"
      if (q("tagging")) return "PutObjectTagging"
      return copy ? "CopyObject" : "PutObject"
    case "DELETE":
      if (uploadId) return "AbortMultipartUpload"
      if (q("tagging")) return "DeleteObjectTagging"
      return "DeleteObject"
    case "POST":
      if (q("uploads")) return "CreateMultipartUpload"
      return uploadId ? "CompleteMultipartUpload" : "Unknown"
    default:
      return "Unknown"
  }
}

/** Names the operation of a request (never fails: a request that names none is "Unknown"). */
export const s3Operation = (request: Omit<S3Request, "body">, baseDomains: ReadonlyArray<string>): S3OperationInfo => {
  const target = resolveTarget(request.rawPath, request.headers.get("host"), baseDomains)
  if (target instanceof S3Error) return { operation: "Unknown", bucket: undefined, key: undefined }
  const { bucket, key } = target
  const parsed = parseQuery(request.rawQuery)
  const query: Query = parsed instanceof S3Error ? [] : parsed
  const method = request.method
  let operation: string
  if (method === "OPTIONS") operation = "PreflightRequest"
  else if (bucket === undefined) operation = method === "GET" ? "ListBuckets" : "Unknown"
  else if (key === undefined) operation = bucketOperation(method, query)
  else operation = objectOperation(method, query, request.headers)
  return { operation, bucket, key }
}
