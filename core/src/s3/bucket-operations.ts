/**
 * Bucket operations: list, create (name rules, location constraint), head,
 * delete (only when empty but for unfinished uploads, which go with it), location, tagging, CORS configuration,
 * versioning (enable, suspend, status), and DeleteObjects (of keys or of
 * versions).
 */
import { Effect, Result } from "effect"
import { Base64Url } from "effect/encoding"
import { acceptRequestedAcl } from "./acl.ts"
import { checkTags, MAX_BUCKET_TAGS, tagsOf, withoutNames, withoutPrefix } from "./attributes.ts"
import { accessBucket, emptyResponse, header, intParam, type OperationContext, param, readSmallBody, xmlResponse } from "./context.ts"
import { corsRulesOf } from "./cors.ts"
import { fromStoreError, S3Error, s3Error } from "./errors.ts"
import { checkBucketName, checkKey } from "./names.ts"
import { BucketNotEmptyError, isVersionId } from "../object/object-api.ts"
import type { S3Response } from "./request.ts"
import { isoDate } from "./time.ts"
import { MAX_XML_BODY_BYTES, parseCorsConfiguration, parseCreateBucketConfiguration, parseDelete, parseTagging, parseVersioningConfiguration } from "./xml-parse.ts"
import { s3Root, xmlElement, xmlOptional } from "./xml-render.ts"

/**
 * ListBuckets, by name, optionally a page at a time (max-buckets; the continuation token is the
 * last name of the page, base64url-encoded) and under a prefix.
 */
export const listBuckets = (ctx: OperationContext): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const maxBuckets = intParam(ctx, "max-buckets", 10_000, 1, 10_000)
    if (maxBuckets instanceof S3Error) return yield* maxBuckets
    const token = param(ctx, "continuation-token")
    let after = ""
    if (token !== undefined && token !== "") {
      const decoded = Base64Url.decode(token)
      if (Result.isFailure(decoded)) return yield* s3Error("InvalidArgument", "The continuation token provided is incorrect", [["ArgumentName", "continuation-token"]])
      after = new TextDecoder().decode(decoded.success)
    }
    const prefix = param(ctx, "prefix") ?? ""
    const all = yield* ctx.store.listBuckets.pipe(Effect.mapError(fromStoreError))
    const visible = (ctx.users.isAdmin(ctx.user) ? all : all.filter((b) => b.owner === ctx.user))
      .filter((b) => b.name > after && b.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
    const page = visible.slice(0, maxBuckets)
    const more = visible.length > page.length
    return xmlResponse(
      s3Root("ListAllMyBucketsResult", [
        xmlElement("Owner", [xmlElement("ID", ctx.user), xmlElement("DisplayName", ctx.user)]),
        xmlElement("Buckets", page.map((b) => xmlElement("Bucket", [xmlElement("Name", b.name), xmlElement("CreationDate", isoDate(b.createdMs))]))),
        xmlOptional("ContinuationToken", more ? Base64Url.encode(page[page.length - 1]!.name) : undefined),
        xmlOptional("Prefix", param(ctx, "prefix"))
      ])
    )
  })

export const createBucket = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const bad = checkBucketName(bucket)
    if (bad !== undefined) return yield* bad
    const body = yield* readSmallBody(ctx, 64 * 1024)
    if (body.length > 0) {
      const location = parseCreateBucketConfiguration(body)
      if (location instanceof S3Error) return yield* location
      if (location !== "" && location !== ctx.region) {
        return yield* s3Error("InvalidLocationConstraint", `The specified location-constraint is not valid: this endpoint serves region ${ctx.region}`)
      }
    }
    if (ctx.request.headers.get("x-amz-bucket-object-lock-enabled")?.toLowerCase() === "true") return yield* s3Error("NotImplemented", "Object lock is not supported")
    yield* acceptRequestedAcl(ctx, ctx.user)
    yield* ctx.store.createBucket(bucket, ctx.user).pipe(
      Effect.catchTag("BucketExistsError", (e) =>
        e.owner !== ctx.user
          ? Effect.fail(fromStoreError(e))
          // us-east-1 answers its owner's re-create with 200 and leaves the bucket as it is (S3's legacy rule); other regions refuse.
          : ctx.region === "us-east-1"
          ? Effect.void
          : Effect.fail(s3Error("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", [["BucketName", bucket]]))
      ),
      Effect.mapError(fromStoreError)
    )
    return emptyResponse(200, [["location", `/${bucket}`]])
  })

export const headBucket = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.map(accessBucket(ctx, bucket), () => emptyResponse(200, [["x-amz-bucket-region", ctx.region]]))

/**
 * A bucket whose only contents are unfinished multipart uploads may be deleted: the uploads and
 * their parts are discarded with it, as S3 and Ceph RGW do. Objects, versions or delete markers
 * keep it BucketNotEmpty, and are checked first so a refused delete aborts nothing. (An object
 * written between the check and the delete still makes the store refuse; the uploads are gone
 * by then, which S3's own delete does not promise against either.)
 */
export const deleteBucket = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    yield* accessBucket(ctx, bucket)
    const listed = yield* ctx.store.listVersions({ bucket, maxKeys: 1 }).pipe(Effect.mapError(fromStoreError))
    if (listed.versions.length > 0 || listed.commonPrefixes.length > 0) return yield* fromStoreError(new BucketNotEmptyError({ bucket }))
    const uploads = yield* ctx.store.listUploads(bucket).pipe(Effect.mapError(fromStoreError))
    yield* Effect.forEach(
      uploads,
      // One aborted (or completed) meanwhile is gone already: that is what this wanted.
      (u) => ctx.store.abortUpload(bucket, u.key, u.uploadId).pipe(Effect.catchTag("NoSuchUploadError", () => Effect.void), Effect.mapError(fromStoreError)),
      { concurrency: 8, discard: true }
    )
    yield* ctx.store.deleteBucket(bucket).pipe(Effect.mapError(fromStoreError))
    return emptyResponse(204)
  })

export const getBucketLocation = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.map(accessBucket(ctx, bucket), () =>
    // us-east-1 is reported as an empty constraint, as S3 does.
    xmlResponse(s3Root("LocationConstraint", ctx.region === "us-east-1" ? "" : ctx.region))
  )

export const getBucketVersioning = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  // A never-versioned bucket answers an empty configuration, as S3 does.
  Effect.map(accessBucket(ctx, bucket), (info) =>
    xmlResponse(s3Root("VersioningConfiguration", info.versioning === "unversioned" ? [] : [xmlElement("Status", info.versioning === "enabled" ? "Enabled" : "Suspended")])))

export const putBucketVersioning = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    yield* accessBucket(ctx, bucket)
    if (header(ctx, "x-amz-mfa") !== undefined) return yield* s3Error("NotImplemented", "MFA delete is not supported")
    const state = parseVersioningConfiguration(yield* readSmallBody(ctx, 64 * 1024))
    if (state instanceof S3Error) return yield* state
    yield* ctx.store.setBucketVersioning(bucket, state).pipe(Effect.mapError(fromStoreError))
    return emptyResponse(200)
  })

/** Replaces the bucket settings kept in its attributes (tags, CORS, lifecycle) after checking access. */
export const updateBucketAttributes = (ctx: OperationContext, bucket: string, change: (a: ReadonlyArray<readonly [string, string]>) => ReadonlyArray<readonly [string, string]>) =>
  Effect.gen(function*() {
    const info = yield* accessBucket(ctx, bucket)
    yield* ctx.store.updateBucket(bucket, change(info.attributes)).pipe(Effect.mapError(fromStoreError))
  })

export const putBucketTagging = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    yield* accessBucket(ctx, bucket)
    const tags = parseTagging(yield* readSmallBody(ctx, MAX_XML_BODY_BYTES))
    if (tags instanceof S3Error) return yield* tags
    const bad = checkTags(tags, MAX_BUCKET_TAGS)
    if (bad !== undefined) return yield* bad
    yield* updateBucketAttributes(ctx, bucket, (a) => [...withoutPrefix(a, "tag:"), ...tags.map(([k, v]) => [`tag:${k}`, v] as const)])
    return emptyResponse(204)
  })

export const tagSetXml = (tags: ReadonlyArray<readonly [string, string]>) =>
  s3Root("Tagging", xmlElement("TagSet", tags.map(([k, v]) => xmlElement("Tag", [xmlElement("Key", k), xmlElement("Value", v)]))))

export const getBucketTagging = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const info = yield* accessBucket(ctx, bucket)
    const tags = tagsOf(info.attributes)
    if (tags.length === 0) return yield* s3Error("NoSuchTagSet", "The TagSet does not exist", [["BucketName", bucket]])
    return xmlResponse(tagSetXml(tags))
  })

export const deleteBucketTagging = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.as(updateBucketAttributes(ctx, bucket, (a) => withoutPrefix(a, "tag:")), emptyResponse(204))

export const putBucketCors = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    yield* accessBucket(ctx, bucket)
    const rules = parseCorsConfiguration(yield* readSmallBody(ctx, 64 * 1024))
    if (rules instanceof S3Error) return yield* rules
    yield* updateBucketAttributes(ctx, bucket, (a) => [...withoutNames(a, ["cors"]), ["cors", JSON.stringify(rules)]])
    return emptyResponse(200)
  })

export const getBucketCors = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const info = yield* accessBucket(ctx, bucket)
    const rules = corsRulesOf(info.attributes)
    if (rules === undefined) return yield* s3Error("NoSuchCORSConfiguration", "The CORS configuration does not exist", [["BucketName", bucket]])
    return xmlResponse(
      s3Root(
        "CORSConfiguration",
        rules.map((r) =>
          xmlElement("CORSRule", [
            xmlOptional("ID", r.id),
            r.allowedHeaders.map((h) => xmlElement("AllowedHeader", h)),
            r.allowedMethods.map((m) => xmlElement("AllowedMethod", m)),
            r.allowedOrigins.map((o) => xmlElement("AllowedOrigin", o)),
            r.exposeHeaders.map((h) => xmlElement("ExposeHeader", h)),
            xmlOptional("MaxAgeSeconds", r.maxAgeSeconds)
          ])
        )
      )
    )
  })

export const deleteBucketCors = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.as(updateBucketAttributes(ctx, bucket, (a) => withoutNames(a, ["cors"])), emptyResponse(204))

/**
 * DeleteObjects: each key (or version, with a VersionId) is deleted independently; failures are
 * reported per entry, not for the request. Deleted entries carry the version removed, or the
 * delete marker written (DeleteMarker, DeleteMarkerVersionId), as S3's do.
 */
export const deleteObjects = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    yield* accessBucket(ctx, bucket)
    const request = parseDelete(yield* readSmallBody(ctx, MAX_XML_BODY_BYTES))
    if (request instanceof S3Error) return yield* request
    interface Outcome {
      readonly key: string
      readonly versionId: string | undefined
      readonly error: S3Error | undefined
      readonly deleted?: { readonly version: string | undefined; readonly deleteMarker: boolean }
    }
    const results = yield* Effect.forEach(
      request.objects,
      ({ key, versionId }): Effect.Effect<Outcome> => {
        const bad = checkKey(key) ?? (versionId !== undefined && !isVersionId(versionId) ? s3Error("InvalidArgument", "Invalid version id specified") : undefined)
        if (bad !== undefined) return Effect.succeed({ key, versionId, error: bad })
        return ctx.store.deleteObject(bucket, key, versionId).pipe(
          Effect.map((out): Outcome => ({ key, versionId, error: undefined, deleted: out })),
          Effect.catch((e) => Effect.succeed({ key, versionId, error: fromStoreError(e) }))
        )
      },
      { concurrency: 8 }
    )
    return xmlResponse(
      s3Root(
        "DeleteResult",
        results.map((r) =>
          r.error === undefined
            ? request.quiet ? undefined : xmlElement("Deleted", [
              xmlElement("Key", r.key),
              xmlOptional("VersionId", r.versionId),
              // A delete marker written (no VersionId) or removed (its VersionId).
              r.deleted?.deleteMarker === true ? xmlElement("DeleteMarker", true) : undefined,
              r.deleted?.deleteMarker === true ? xmlOptional("DeleteMarkerVersionId", r.versionId ?? r.deleted.version) : undefined
            ])
            : xmlElement("Error", [xmlElement("Key", r.key), xmlOptional("VersionId", r.versionId), xmlElement("Code", r.error.code), xmlElement("Message", r.error.message)])
        )
      )
    )
  })

