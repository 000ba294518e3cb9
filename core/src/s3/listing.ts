/**
 * ListObjects (V1: marker) and ListObjectsV2 (continuation token,
 * start-after), with prefix, delimiter, common prefixes, max-keys and
 * encoding-type=url. The continuation token is the store's continuation
 * key, base64url-encoded: opaque to clients, stateless on the server.
 */
import { Effect, Result } from "effect"
import { Base64Url } from "effect/encoding"
import { isVersionId, type ListObjectsOutput, type ListVersionsOutput } from "../object/object-api.ts"
import { etagOf } from "./attributes.ts"
import { accessBucket, intParam, type OperationContext, param, xmlResponse } from "./context.ts"
import { fromStoreError, S3Error, s3Error } from "./errors.ts"
import type { S3Response } from "./request.ts"
import { uriEncode } from "./sigv4.ts"
import { isoDate } from "./time.ts"
import { s3Root, xmlElement, xmlOptional } from "./xml-render.ts"

const encodingOf = (ctx: OperationContext): ((s: string) => string) | S3Error => {
  const encoding = param(ctx, "encoding-type")
  if (encoding === undefined) return (s) => s
  if (encoding !== "url") return s3Error("InvalidArgument", "Invalid Encoding Method specified in Request", [["ArgumentName", "encoding-type"]])
  return (s) => uriEncode(s, true)
}

/** What every listing checks first: access to the bucket, encoding-type and max-keys. */
const listingRequest = (ctx: OperationContext, bucket: string) =>
  Effect.gen(function*() {
    const info = yield* accessBucket(ctx, bucket)
    const encode = encodingOf(ctx)
    if (encode instanceof S3Error) return yield* encode
    const maxKeys = intParam(ctx, "max-keys", 1000, 0, 1000)
    if (maxKeys instanceof S3Error) return yield* maxKeys
    return { info, encode, maxKeys }
  })

/** Greater than any key under a prefix (keys are at most 1024 bytes; each of these is 4). */
const PAST_EVERY_KEY = "\u{10FFFF}".repeat(257)

/**
 * Where to resume. The store lists keys strictly after `startAfter`; when
 * that point lies inside a group rolled up into a common prefix (a NextMarker
 * or continuation that ended on the prefix itself), resuming right after it
 * would roll the rest of the group into the same prefix again, so resume
 * after every key under that prefix instead.
 */
export const resumePoint = (startAfter: string, prefix: string, delimiter: string): string => {
  if (delimiter === "" || !startAfter.startsWith(prefix)) return startAfter
  const cut = startAfter.indexOf(delimiter, prefix.length)
  return cut < 0 ? startAfter : startAfter.slice(0, cut + delimiter.length) + PAST_EVERY_KEY
}

const list = (ctx: OperationContext, bucket: string, from: string | undefined, maxKeys: number) =>
  Effect.gen(function*() {
    const prefix = param(ctx, "prefix") ?? ""
    const delimiter = param(ctx, "delimiter") ?? ""
    const startAfter = from === undefined || from === "" ? undefined : resumePoint(from, prefix, delimiter)
    if (maxKeys === 0) return { prefix, delimiter, output: { objects: [], commonPrefixes: [], truncated: false, nextStartAfter: undefined } as ListObjectsOutput }
    const output = yield* ctx.store.listObjects({
      bucket,
      maxKeys,
      ...(prefix === "" ? {} : { prefix }),
      ...(delimiter === "" ? {} : { delimiter }),
      ...(startAfter === undefined ? {} : { startAfter })
    }).pipe(Effect.mapError(fromStoreError))
    return { prefix, delimiter, output }
  })

const contents = (output: ListObjectsOutput, encode: (s: string) => string, owner: string | undefined) =>
  output.objects.map((o) =>
    xmlElement("Contents", [
      xmlElement("Key", encode(o.key)),
      xmlElement("LastModified", isoDate(o.createdMs)),
      xmlElement("ETag", etagOf(o.attributes)),
      xmlElement("Size", o.size),
      owner === undefined ? undefined : xmlElement("Owner", [xmlElement("ID", owner), xmlElement("DisplayName", owner)]),
      xmlElement("StorageClass", "STANDARD")
    ])
  )

const commonPrefixes = (output: ListObjectsOutput, encode: (s: string) => string) =>
  output.commonPrefixes.map((p) => xmlElement("CommonPrefixes", xmlElement("Prefix", encode(p))))

export const listObjectsV2 = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const { info, encode, maxKeys } = yield* listingRequest(ctx, bucket)
    const token = param(ctx, "continuation-token")
    let fromToken: string | undefined
    // An empty token is no token (S3 echoes it back and lists from the start).
    if (token !== undefined && token !== "") {
      const decoded = Base64Url.decode(token)
      if (Result.isFailure(decoded)) return yield* s3Error("InvalidArgument", "The continuation token provided is incorrect", [["ArgumentName", "continuation-token"]])
      fromToken = new TextDecoder("utf-8", { ignoreBOM: true }).decode(decoded.success)
    }
    const startAfter = param(ctx, "start-after")
    const from = fromToken ?? startAfter
    const { prefix, delimiter, output } = yield* list(ctx, bucket, from, maxKeys)
    const next = output.truncated && output.nextStartAfter !== undefined ? Base64Url.encode(output.nextStartAfter) : undefined
    return xmlResponse(
      s3Root("ListBucketResult", [
        xmlElement("Name", bucket),
        xmlElement("Prefix", encode(prefix)),
        xmlOptional("Delimiter", delimiter === "" ? undefined : encode(delimiter)),
        xmlElement("MaxKeys", maxKeys),
        xmlElement("KeyCount", output.objects.length + output.commonPrefixes.length),
        xmlElement("IsTruncated", output.truncated),
        xmlOptional("ContinuationToken", token),
        xmlOptional("NextContinuationToken", next),
        xmlOptional("StartAfter", startAfter === undefined ? undefined : encode(startAfter)),
        xmlOptional("EncodingType", param(ctx, "encoding-type")),
        contents(output, encode, param(ctx, "fetch-owner") === "true" ? info.owner : undefined),
        commonPrefixes(output, encode)
      ])
    )
  })

export const listObjectsV1 = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const { info, encode, maxKeys } = yield* listingRequest(ctx, bucket)
    const marker = param(ctx, "marker") ?? ""
    const { prefix, delimiter, output } = yield* list(ctx, bucket, marker, maxKeys)
    return xmlResponse(
      s3Root("ListBucketResult", [
        xmlElement("Name", bucket),
        // V1 answers its Prefix as given, even with encoding-type=url (the SDKs decode V2's Prefix, not V1's).
        xmlElement("Prefix", prefix),
        xmlElement("Marker", encode(marker)),
        xmlOptional("NextMarker", output.truncated && output.nextStartAfter !== undefined ? encode(output.nextStartAfter) : undefined),
        xmlElement("MaxKeys", maxKeys),
        xmlOptional("Delimiter", delimiter === "" ? undefined : encode(delimiter)),
        xmlElement("IsTruncated", output.truncated),
        xmlOptional("EncodingType", param(ctx, "encoding-type")),
        contents(output, encode, info.owner),
        commonPrefixes(output, encode)
      ])
    )
  })

/**
 * ListObjectVersions: every version and delete marker (keys ascending, each
 * key's versions newest first) with prefix, delimiter, key-marker and
 * version-id-marker, max-keys and encoding-type=url. A version written
 * before versioning was turned on is listed as the "null" version.
 */
export const listObjectVersions = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const { info, encode, maxKeys } = yield* listingRequest(ctx, bucket)
    const prefix = param(ctx, "prefix") ?? ""
    const delimiter = param(ctx, "delimiter") ?? ""
    const keyMarker = param(ctx, "key-marker") ?? ""
    const versionIdMarker = param(ctx, "version-id-marker") ?? ""
    if (versionIdMarker !== "" && keyMarker === "") {
      return yield* s3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.", [["ArgumentName", "version-id-marker"]])
    }
    if (versionIdMarker !== "" && !isVersionId(versionIdMarker)) {
      return yield* s3Error("InvalidArgument", "Invalid version id specified", [["ArgumentName", "version-id-marker"], ["ArgumentValue", versionIdMarker]])
    }
    const output: ListVersionsOutput = maxKeys === 0
      ? { versions: [], commonPrefixes: [], truncated: false, nextKeyMarker: undefined, nextVersionIdMarker: undefined }
      : yield* ctx.store.listVersions({
        bucket,
        maxKeys,
        ...(prefix === "" ? {} : { prefix }),
        ...(delimiter === "" ? {} : { delimiter }),
        ...(keyMarker === "" ? {} : { keyMarker }),
        ...(versionIdMarker === "" ? {} : { versionIdMarker })
      }).pipe(Effect.mapError(fromStoreError))
    const owner = xmlElement("Owner", [xmlElement("ID", info.owner), xmlElement("DisplayName", info.owner)])
    return xmlResponse(
      s3Root("ListVersionsResult", [
        xmlElement("Name", bucket),
        xmlElement("Prefix", encode(prefix)),
        xmlElement("KeyMarker", encode(keyMarker)),
        xmlElement("VersionIdMarker", versionIdMarker),
        xmlOptional("NextKeyMarker", output.nextKeyMarker === undefined ? undefined : encode(output.nextKeyMarker)),
        xmlOptional("NextVersionIdMarker", output.nextVersionIdMarker),
        xmlElement("MaxKeys", maxKeys),
        xmlOptional("Delimiter", delimiter === "" ? undefined : encode(delimiter)),
        xmlElement("IsTruncated", output.truncated),
        xmlOptional("EncodingType", param(ctx, "encoding-type")),
        output.versions.map((v) =>
          v.deleteMarker
            ? xmlElement("DeleteMarker", [
              xmlElement("Key", encode(v.key)),
              xmlElement("VersionId", v.version ?? "null"),
              xmlElement("IsLatest", v.isLatest),
              xmlElement("LastModified", isoDate(v.createdMs)),
              owner
            ])
            : xmlElement("Version", [
              xmlElement("Key", encode(v.key)),
              xmlElement("VersionId", v.version ?? "null"),
              xmlElement("IsLatest", v.isLatest),
              xmlElement("LastModified", isoDate(v.createdMs)),
              xmlElement("ETag", etagOf(v.attributes)),
              xmlElement("Size", v.size),
              owner,
              xmlElement("StorageClass", "STANDARD")
            ])
        ),
        output.commonPrefixes.map((p) => xmlElement("CommonPrefixes", xmlElement("Prefix", encode(p))))
      ])
    )
  })
