/**
 * S3 routing: which operation a request names, from its target (service,
 * bucket or object), its subresource query parameters and its method.
 * Subresources this server does not implement are named, so clients get
 * NotImplemented rather than a wrong answer.
 */
import { Effect } from "effect"
import { aclOperation } from "./acl.ts"
import * as Buckets from "./bucket-operations.ts"
import type { OperationContext } from "./context.ts"
import { type S3Error, s3Error } from "./errors.ts"
import { deleteBucketLifecycle, getBucketLifecycle, putBucketLifecycle } from "./lifecycle/operations.ts"
import { listObjectVersions, listObjectsV1, listObjectsV2 } from "./listing.ts"
import * as Multipart from "./multipart-operations.ts"
import * as Objects from "./object-operations.ts"
import { hasQuery, queryValue, type S3Response, type Target } from "./request.ts"

/** Subresources this server does not implement; named so clients get NotImplemented, not a wrong answer. */
const unsupportedBucket = ["policy", "policyStatus", "replication", "website", "logging", "notification", "encryption", "object-lock", "ownershipControls", "publicAccessBlock", "accelerate", "requestPayment", "analytics", "inventory", "metrics", "intelligent-tiering", "session"]
const unsupportedObject = ["retention", "legal-hold", "torrent", "restore", "select"]

const notImplemented = (what: string) => s3Error("NotImplemented", `${what} is not implemented`)

/** The operation a request names: by target (service, bucket, object), subresource and method. */
export const route = (ctx: OperationContext, target: Target): Effect.Effect<S3Response, S3Error> => {
  const { bucket, key } = target
  if (bucket === undefined) {
    if (ctx.request.method === "GET") return Buckets.listBuckets(ctx)
    return Effect.fail(methodNotAllowed(ctx.request.method, "the service"))
  }
  return key === undefined ? routeBucket(ctx, bucket) : routeObject(ctx, bucket, key)
}

const routeBucket = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> => {
  const method = ctx.request.method
  const q = (name: string) => hasQuery(ctx.query, name)
  if (q("versioning")) {
    if (method === "GET") return Buckets.getBucketVersioning(ctx, bucket)
    if (method === "PUT") return Buckets.putBucketVersioning(ctx, bucket)
    return Effect.fail(methodNotAllowed(method, "the versioning configuration"))
  }
  if (q("acl")) return aclOperation(ctx, bucket, undefined)
  if (q("lifecycle")) {
    if (method === "GET") return getBucketLifecycle(ctx, bucket)
    if (method === "PUT") return putBucketLifecycle(ctx, bucket)
    if (method === "DELETE") return deleteBucketLifecycle(ctx, bucket)
    return Effect.fail(methodNotAllowed(method, "the lifecycle configuration"))
  }
  const unsupported = unsupportedBucket.find(q)
  if (unsupported !== undefined) return Effect.fail(notImplemented(`The bucket subresource ?${unsupported}`))
  switch (method) {
    case "GET":
      if (q("location")) return Buckets.getBucketLocation(ctx, bucket)
      if (q("cors")) return Buckets.getBucketCors(ctx, bucket)
      if (q("tagging")) return Buckets.getBucketTagging(ctx, bucket)
      if (q("uploads")) return Multipart.listUploads(ctx, bucket)
      if (q("versions")) return listObjectVersions(ctx, bucket)
      if (queryValue(ctx.query, "list-type") === "2") return listObjectsV2(ctx, bucket)
      return listObjectsV1(ctx, bucket)
    case "HEAD":
      return Buckets.headBucket(ctx, bucket)
    case "PUT":
      if (q("cors")) return Buckets.putBucketCors(ctx, bucket)
      if (q("tagging")) return Buckets.putBucketTagging(ctx, bucket)
      return Buckets.createBucket(ctx, bucket)
    case "DELETE":
      if (q("cors")) return Buckets.deleteBucketCors(ctx, bucket)
      if (q("tagging")) return Buckets.deleteBucketTagging(ctx, bucket)
      return Buckets.deleteBucket(ctx, bucket)
    case "POST":
      if (q("delete")) return Buckets.deleteObjects(ctx, bucket)
      return Effect.fail(notImplemented("POST on a bucket (browser form uploads)"))
    default:
      return Effect.fail(methodNotAllowed(method, "a bucket"))
  }
}

const routeObject = (ctx: OperationContext, bucket: string, key: string): Effect.Effect<S3Response, S3Error> => {
  const method = ctx.request.method
  const q = (name: string) => hasQuery(ctx.query, name)
  if (q("acl")) return aclOperation(ctx, bucket, key)
  const unsupported = unsupportedObject.find(q)
  if (unsupported !== undefined) return Effect.fail(notImplemented(`The object subresource ?${unsupported}`))
  const uploadId = queryValue(ctx.query, "uploadId")
  switch (method) {
    case "GET":
      if (uploadId !== undefined) return Multipart.listParts(ctx, bucket, key, uploadId)
      if (q("tagging")) return Objects.getObjectTagging(ctx, bucket, key)
      if (q("attributes")) return Objects.getObjectAttributes(ctx, bucket, key)
      return Objects.getObject(ctx, bucket, key, true)
    case "HEAD":
      return Objects.getObject(ctx, bucket, key, false)
    case "PUT":
      if (uploadId !== undefined) {
        return ctx.request.headers.has("x-amz-copy-source") ? Multipart.uploadPartCopy(ctx, bucket, key, uploadId) : Multipart.uploadPart(ctx, bucket, key, uploadId)
      }
      if (q("tagging")) return Objects.putObjectTagging(ctx, bucket, key)
      if (ctx.request.headers.has("x-amz-copy-source")) return Objects.copyObject(ctx, bucket, key)
      return Objects.putObject(ctx, bucket, key)
    case "DELETE":
      if (uploadId !== undefined) return Multipart.abortUpload(ctx, bucket, key, uploadId)
      if (q("tagging")) return Objects.deleteObjectTagging(ctx, bucket, key)
      return Objects.deleteObject(ctx, bucket, key)
    case "POST":
      if (q("uploads")) return Multipart.createUpload(ctx, bucket, key)
      if (uploadId !== undefined) return Multipart.completeUpload(ctx, bucket, key, uploadId)
      return Effect.fail(notImplemented("This POST request"))
    default:
      return Effect.fail(methodNotAllowed(method, "an object"))
  }
}

export const methodNotAllowed = (method: string, what: string) => s3Error("MethodNotAllowed", `The specified method ${method} is not allowed against ${what}.`, [["Method", method]])
