/**
 * Object operations: put (conditional, with digests checked before the
 * commit), get and head (ranges, conditions, response header overrides),
 * delete, copy (streamed from the source into a new put), tagging and
 * GetObjectAttributes. Get, head, delete and a copy's source take a
 * versionId; answers name the version they read, wrote or removed
 * (x-amz-version-id) in buckets that have been versioned.
 */
import { Effect, Stream } from "effect"
import { Base64 } from "effect/encoding"
import { type Attributes, type ByteRange, type GetObjectOutput, isVersionId, type ObjectInfo, type PutCondition } from "../object/object-api.ts"
import { acceptRequestedAcl } from "./acl.ts"
import {
  attributesFromHeaders,
  bareEtag,
  checksumsOf,
  checkTags,
  etagOf,
  headersFromAttributes,
  MAX_OBJECT_TAGS,
  STANDARD_HEADERS,
  tagsOf,
  withoutNames,
  withoutPrefix
} from "./attributes.ts"
import { tagSetXml } from "./bucket-operations.ts"
import { contentRange, evaluateConditions, parseRange, resolveRange } from "./conditions.ts"
import { expirationHeaders } from "./lifecycle/match.ts"
import { accessBucket, emptyResponse, header, type OperationContext, param, readSmallBody, xmlResponse } from "./context.ts"
import { type DigestAlgorithm, toHex } from "./digest.ts"
import { fromStoreError, S3Error, s3Error } from "./errors.ts"
import { checkKey } from "./names.ts"
import { partChecksumsOf, partNumberParam, partRange, partSizesOf, uploadChecksumAlgorithm } from "./object-parts.ts"
import { type ChecksumAlgorithm, prepareBody, type VerifiedBody } from "./payload.ts"
import type { S3Response } from "./request.ts"
import { httpDate, isoDate } from "./time.ts"
import { MAX_XML_BODY_BYTES, parseTagging } from "./xml-parse.ts"
import { s3Root, xmlElement } from "./xml-render.ts"

/** S3's largest single PUT (5 GiB); larger objects are uploaded in parts. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3

const verifiedAttributes = (base: Attributes, verified: VerifiedBody, etag: string): Attributes => [
  ...withoutNames(withoutPrefix(base, "checksum:"), ["etag"]),
  ["etag", etag],
  ...verified.checksums.map(([a, v]) => [`checksum:${a}`, v] as const)
]

const checksumHeaders = (verified: VerifiedBody): Array<readonly [string, string]> => verified.checksums.map(([a, v]) => [`x-amz-checksum-${a}`, v] as const)

/** If-Match / If-None-Match on a write, as the store's compare-and-set condition. */
export const writeCondition = (ctx: OperationContext, bucket: string, key: string): Effect.Effect<PutCondition | undefined, S3Error> =>
  Effect.gen(function*() {
    const ifNoneMatch = header(ctx, "if-none-match")
    const ifMatch = header(ctx, "if-match")
    if (ifNoneMatch !== undefined) {
      if (ifNoneMatch.trim() !== "*") return yield* s3Error("NotImplemented", "If-None-Match on a write supports only *")
      if (ifMatch !== undefined) return yield* s3Error("InvalidRequest", "If-Match and If-None-Match cannot be combined on a write")
      return { ifAbsent: true }
    }
    if (ifMatch === undefined) return undefined
    const current = yield* ctx.store.headObject(bucket, key).pipe(Effect.mapError(fromStoreError))
    if (bareEtag(ifMatch) !== "*" && bareEtag(ifMatch) !== bareEtag(etagOf(current.attributes))) {
      return yield* s3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", [["Condition", "If-Match"]])
    }
    return { ifVersion: current.versionId }
  })

/** A body of undeclared length, failing EntityTooLarge once it passes `limit` bytes. */
const capped = <E>(body: Stream.Stream<Uint8Array, E>, limit: number): Stream.Stream<Uint8Array, E | S3Error> => {
  let total = 0
  return Stream.mapEffect(body, (chunk) => {
    total += chunk.length
    return total > limit ? Effect.fail(s3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", [["MaxSizeAllowed", String(limit)]])) : Effect.succeed(chunk)
  })
}

export const putObject = (ctx: OperationContext, bucket: string, key: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const badKey = checkKey(key)
    if (badKey !== undefined) return yield* badKey
    const bucketInfo = yield* accessBucket(ctx, bucket)
    yield* acceptRequestedAcl(ctx, bucketInfo.owner)
    const requested = attributesFromHeaders(ctx.request)
    if (requested instanceof S3Error) return yield* requested
    const prepared = prepareBody(ctx.request, ctx.payload, ctx.digest)
    if (prepared instanceof S3Error) return yield* prepared
    // HTTP's chunked transfer coding carries no length: the body is taken as it comes, up to the limit.
    const httpChunked = header(ctx, "transfer-encoding")?.toLowerCase().includes("chunked") === true
    if (prepared.size === undefined && !httpChunked) return yield* s3Error("MissingContentLength", "You must provide the Content-Length HTTP header.")
    if (prepared.size !== undefined && prepared.size > MAX_PUT_BYTES) return yield* s3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", [["MaxSizeAllowed", String(MAX_PUT_BYTES)]])
    const condition = yield* writeCondition(ctx, bucket, key)
    let verified: VerifiedBody | undefined
    const info = yield* ctx.store.putObject({
      bucket,
      key,
      body: prepared.size === undefined ? capped(prepared.body, MAX_PUT_BYTES) : prepared.body,
      size: prepared.size,
      ...(condition === undefined ? {} : { condition }),
      finish: () =>
        Effect.map(prepared.verify, (v) => {
          verified = v
          return verifiedAttributes(requested, v, `"${v.md5Hex}"`)
        })
    }).pipe(Effect.mapError(fromStoreError))
    return emptyResponse(200, [
      ["etag", etagOf(info.attributes)],
      ...writtenVersionHeader(info.version),
      ...(verified === undefined ? [] : checksumHeaders(verified)),
      ...expirationHeaders(bucketInfo.attributes, info)
    ])
  })

const conditionHeaders = (ctx: OperationContext, prefix = "") => ({
  ifMatch: header(ctx, `${prefix}if-match`),
  ifNoneMatch: header(ctx, `${prefix}if-none-match`),
  ifModifiedSince: header(ctx, `${prefix}if-modified-since`),
  ifUnmodifiedSince: header(ctx, `${prefix}if-unmodified-since`)
})

/** Operations that act on the current version only (tagging, attributes) refuse another one. */
const notVersioned = (ctx: OperationContext): S3Error | undefined => {
  const v = param(ctx, "versionId")
  return v !== undefined && v !== "null" ? s3Error("NotImplemented", "This operation on a specific version is not supported; it acts on the current version") : undefined
}

const badVersionId = (versionId: string) => s3Error("InvalidArgument", "Invalid version id specified", [["ArgumentName", "versionId"], ["ArgumentValue", versionId]])

/** The `versionId` query parameter: undefined when absent; InvalidArgument when it is not one this server could have given. */
const versionParam = (ctx: OperationContext): string | undefined | S3Error => {
  const v = param(ctx, "versionId")
  return v === undefined || isVersionId(v) ? v : badVersionId(v)
}

const versionHeader = (version: string | undefined): Array<readonly [string, string]> => (version === undefined ? [] : [["x-amz-version-id", version]])

/** The version a write made: S3 names none for the "null" version a suspended bucket's write replaces. */
export const writtenVersionHeader = (version: string | undefined): Array<readonly [string, string]> => versionHeader(version === "null" ? undefined : version)

/** Response headers a GET may override with response-* query parameters (signed requests only, as in S3). */
const overrides = ["content-type", "content-language", "expires", "cache-control", "content-disposition", "content-encoding"] as const

const objectHeaders = (ctx: OperationContext, info: ObjectInfo, whole: boolean): Array<readonly [string, string]> => {
  // The stored checksums are of the whole object: a range answer must not carry them (clients would check the range against them).
  const headers = headersFromAttributes(info.attributes, whole && header(ctx, "x-amz-checksum-mode")?.toUpperCase() === "ENABLED")
  headers.push(["last-modified", httpDate(info.createdMs)], ["accept-ranges", "bytes"])
  if (info.parts > 0 && param(ctx, "partNumber") !== undefined) headers.push(["x-amz-mp-parts-count", String(info.parts)])
  for (const name of overrides) {
    const value = param(ctx, `response-${name}`)
    if (value === undefined) continue
    const i = headers.findIndex(([n]) => n === name)
    if (i >= 0) headers.splice(i, 1)
    headers.push([name, value])
  }
  return headers
}

/**
 * The object and the range to serve. A range needs the size before the read,
 * so it is resolved against a head; if the object changed in between, the
 * read is retried so the range always matches the bytes served.
 */
const readObject = (ctx: OperationContext, bucket: string, key: string, body: boolean, versionId: string | undefined): Effect.Effect<{ readonly info: ObjectInfo; readonly range: ByteRange | undefined; readonly output: GetObjectOutput | undefined }, S3Error> =>
  Effect.gen(function*() {
    const spec = parseRange(header(ctx, "range"))
    const partNumber = partNumberParam(param(ctx, "partNumber"))
    if (partNumber instanceof S3Error) return yield* partNumber
    if (partNumber !== undefined && spec !== undefined) return yield* s3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter")
    // The bytes to serve, once the object's size (and part layout) is known; undefined: all of it.
    const wanted = (head: ObjectInfo): ByteRange | undefined | S3Error =>
      spec !== undefined ? resolveRange(spec, head.size) : partNumber !== undefined ? partRange(head, partNumber) : undefined
    for (let attempt = 0; ; attempt++) {
      if (spec === undefined && partNumber === undefined) {
        if (!body) return { info: yield* ctx.store.headObject(bucket, key, versionId).pipe(Effect.mapError(fromStoreError)), range: undefined, output: undefined }
        const output = yield* ctx.store.getObject(bucket, key, undefined, versionId).pipe(Effect.mapError(fromStoreError))
        return { info: output.info, range: undefined, output }
      }
      const head = yield* ctx.store.headObject(bucket, key, versionId).pipe(Effect.mapError(fromStoreError))
      const range = wanted(head)
      if (range instanceof S3Error) return yield* range
      if (!body) return { info: head, range, output: undefined }
      const output = yield* ctx.store.getObject(bucket, key, range, versionId).pipe(Effect.mapError(fromStoreError))
      if (output.info.versionId === head.versionId || attempt >= 3) {
        if (output.info.versionId !== head.versionId) return yield* s3Error("ServiceUnavailable", "The object changed repeatedly while it was being read; retry")
        return { info: output.info, range, output }
      }
    }
  })

export const getObject = (ctx: OperationContext, bucket: string, key: string, body: boolean): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const versionId = versionParam(ctx)
    if (versionId instanceof S3Error) return yield* versionId
    const bucketInfo = yield* accessBucket(ctx, bucket)
    const { info, range, output } = yield* readObject(ctx, bucket, key, body, versionId)
    const failed = evaluateConditions(conditionHeaders(ctx), etagOf(info.attributes), info.createdMs)
    if (failed !== undefined) {
      if (failed.code === "NotModified") return emptyResponse(304, [["etag", etagOf(info.attributes)], ["last-modified", httpDate(info.createdMs)]])
      return yield* failed
    }
    const headers = objectHeaders(ctx, info, range === undefined)
    // A version written before versioning was turned on is the "null" version.
    headers.push(...versionHeader(info.version ?? (versionId === undefined ? undefined : "null")))
    // When a lifecycle rule will expire it (the current version only: a named one may be noncurrent).
    if (versionId === undefined) headers.push(...expirationHeaders(bucketInfo.attributes, info))
    const length = range === undefined ? info.size : range.end - range.start
    headers.push(["content-length", String(length)])
    if (range !== undefined) headers.push(["content-range", contentRange(range, info.size)])
    const status = range === undefined ? 200 : 206
    if (output === undefined) return { status, headers }
    return { status, headers, body: Stream.mapError(output.body, fromStoreError) }
  })

export const deleteObject = (ctx: OperationContext, bucket: string, key: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const versionId = versionParam(ctx)
    if (versionId instanceof S3Error) return yield* versionId
    yield* accessBucket(ctx, bucket)
    if (header(ctx, "if-match") !== undefined) {
      const current = yield* ctx.store.headObject(bucket, key).pipe(Effect.mapError(fromStoreError))
      const failed = evaluateConditions({ ifMatch: header(ctx, "if-match") }, etagOf(current.attributes), current.createdMs)
      if (failed !== undefined) return yield* failed
    }
    const out = yield* ctx.store.deleteObject(bucket, key, versionId).pipe(Effect.mapError(fromStoreError))
    return emptyResponse(204, [...versionHeader(out.version), ...(out.deleteMarker ? [["x-amz-delete-marker", "true"] as const] : [])])
  })

/** `x-amz-copy-source`: "/bucket/key" or "bucket/key", URL-encoded, optionally followed by "?versionId=<id>". */
export const parseCopySource = (ctx: OperationContext): { readonly bucket: string; readonly key: string; readonly versionId?: string } | S3Error => {
  const raw = header(ctx, "x-amz-copy-source") ?? ""
  const [path, query] = raw.split("?", 2) as [string, string | undefined]
  let versionId: string | undefined
  if (query !== undefined) {
    const m = /(?:^|&)versionId=([^&]*)/.exec(query)
    if (m !== null) {
      versionId = m[1]!
      if (!isVersionId(versionId)) return badVersionId(versionId)
    }
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return s3Error("InvalidArgument", "Invalid copy source encoding")
  }
  const trimmed = decoded.startsWith("/") ? decoded.slice(1) : decoded
  const slash = trimmed.indexOf("/")
  if (slash <= 0 || slash === trimmed.length - 1) return s3Error("InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
  return { bucket: trimmed.slice(0, slash), key: trimmed.slice(slash + 1), ...(versionId === undefined ? {} : { versionId }) }
}

/** Reads the copy source (checking access and the x-amz-copy-source-if-* conditions). */
export const openCopySource = (ctx: OperationContext, range: ByteRange | undefined) =>
  Effect.gen(function*() {
    const source = parseCopySource(ctx)
    if (source instanceof S3Error) return yield* source
    yield* accessBucket(ctx, source.bucket)
    const output = yield* ctx.store.getObject(source.bucket, source.key, range, source.versionId).pipe(Effect.mapError(fromStoreError))
    const failed = evaluateConditions(conditionHeaders(ctx, "x-amz-copy-source-"), etagOf(output.info.attributes), output.info.createdMs)
    if (failed !== undefined) {
      return yield* failed.code === "NotModified" ? s3Error("PreconditionFailed", "At least one of the pre-conditions you specified did not hold") : failed
    }
    return { source, output }
  })

/** Hashes bytes as they stream through: the copy's ETag and checksums are computed, not trusted. */
export const hashingStream = (ctx: OperationContext, body: Stream.Stream<Uint8Array, S3Error>, algorithms: ReadonlyArray<DigestAlgorithm>) => {
  const hashers = algorithms.map((a) => [a, ctx.digest.hasher(a)] as const)
  const stream = Stream.map(body, (bytes) => {
    for (const [, h] of hashers) h.update(bytes)
    return bytes
  })
  const digests = () => new Map(hashers.map(([a, h]) => [a, h.digest()] as const))
  return { stream, digests }
}

export const copyObject = (ctx: OperationContext, bucket: string, key: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const badKey = checkKey(key)
    if (badKey !== undefined) return yield* badKey
    const bucketInfo = yield* accessBucket(ctx, bucket)
    yield* acceptRequestedAcl(ctx, bucketInfo.owner)
    const directive = (header(ctx, "x-amz-metadata-directive") ?? "COPY").toUpperCase()
    const taggingDirective = (header(ctx, "x-amz-tagging-directive") ?? "COPY").toUpperCase()
    if (directive !== "COPY" && directive !== "REPLACE") return yield* s3Error("InvalidArgument", "Unknown metadata directive.")
    if (taggingDirective !== "COPY" && taggingDirective !== "REPLACE") return yield* s3Error("InvalidArgument", "Unknown tagging directive.")
    const { source, output } = yield* openCopySource(ctx, undefined)
    if (source.bucket === bucket && source.key === key && source.versionId === undefined && directive === "COPY" && taggingDirective === "COPY") {
      return yield* s3Error("InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
    }
    const requested = attributesFromHeaders(ctx.request)
    if (requested instanceof S3Error) return yield* requested
    const sourceAttributes = output.info.attributes
    const keptMetadata = directive === "COPY"
      ? sourceAttributes.filter(([n]) => n.startsWith("meta:") || (STANDARD_HEADERS as ReadonlyArray<string>).includes(n))
      : requested.filter(([n]) => !n.startsWith("tag:"))
    const keptTags = taggingDirective === "COPY" ? sourceAttributes.filter(([n]) => n.startsWith("tag:")) : requested.filter(([n]) => n.startsWith("tag:"))
    const checksumAlgorithms = checksumsOf(sourceAttributes).map(([a]) => a)
    const { stream, digests } = hashingStream(ctx, Stream.mapError(output.body, fromStoreError), ["md5", ...checksumAlgorithms])
    const condition = yield* writeCondition(ctx, bucket, key)
    const info = yield* ctx.store.putObject({
      bucket,
      key,
      body: stream,
      size: output.info.size,
      ...(condition === undefined ? {} : { condition }),
      finish: () =>
        Effect.sync(() => {
          const d = digests()
          const checksums = checksumAlgorithms.map((a): readonly [ChecksumAlgorithm, string] => [a, Base64.encode(d.get(a)!)])
          return verifiedAttributes([...keptMetadata, ...keptTags], { md5Hex: toHex(d.get("md5")!), checksums }, `"${toHex(d.get("md5")!)}"`)
        })
    }).pipe(Effect.mapError(fromStoreError))
    return xmlResponse(
      s3Root("CopyObjectResult", [xmlElement("ETag", etagOf(info.attributes)), xmlElement("LastModified", isoDate(info.createdMs))]),
      [["x-amz-copy-source-version-id", output.info.version ?? "null"], ...writtenVersionHeader(info.version), ...expirationHeaders(bucketInfo.attributes, info)]
    )
  })

export const putObjectTagging = (ctx: OperationContext, bucket: string, key: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const bad = notVersioned(ctx)
    if (bad !== undefined) return yield* bad
    yield* accessBucket(ctx, bucket)
    const tags = parseTagging(yield* readSmallBody(ctx, MAX_XML_BODY_BYTES))
    if (tags instanceof S3Error) return yield* tags
    const badTags = checkTags(tags, MAX_OBJECT_TAGS)
    if (badTags !== undefined) return yield* badTags
    yield* updateObjectAttributes(ctx, bucket, key, (a) => [...withoutPrefix(a, "tag:"), ...tags.map(([k, v]) => [`tag:${k}`, v] as const)])
    return emptyResponse(200)
  })

/** Read, change, write back under the version read: a concurrent put is not overwritten with stale attributes. */
const updateObjectAttributes = (ctx: OperationContext, bucket: string, key: string, change: (a: Attributes) => Attributes) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = yield* ctx.store.headObject(bucket, key).pipe(Effect.mapError(fromStoreError))
      const outcome = yield* Effect.result(ctx.store.updateObject(bucket, key, change(current.attributes), { ifVersion: current.versionId }))
      if (outcome._tag === "Success") return outcome.success
      if (outcome.failure._tag !== "PreconditionFailedError") return yield* fromStoreError(outcome.failure)
    }
    return yield* s3Error("ServiceUnavailable", "The object kept changing; retry")
  })

export const getObjectTagging = (ctx: OperationContext, bucket: string, key: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const bad = notVersioned(ctx)
    if (bad !== undefined) return yield* bad
    yield* accessBucket(ctx, bucket)
    const info = yield* ctx.store.headObject(bucket, key).pipe(Effect.mapError(fromStoreError))
    return xmlResponse(tagSetXml(tagsOf(info.attributes)))
  })

export const deleteObjectTagging = (ctx: OperationContext, bucket: string, key: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    yield* accessBucket(ctx, bucket)
    yield* updateObjectAttributes(ctx, bucket, key, (a) => withoutPrefix(a, "tag:"))
    return emptyResponse(204)
  })

const checksumElement: Record<ChecksumAlgorithm, string> = { crc32: "ChecksumCRC32", crc32c: "ChecksumCRC32C", sha1: "ChecksumSHA1", sha256: "ChecksumSHA256" }

export const getObjectAttributes = (ctx: OperationContext, bucket: string, key: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const versionId = versionParam(ctx)
    if (versionId instanceof S3Error) return yield* versionId
    yield* accessBucket(ctx, bucket)
    const wanted = new Set((header(ctx, "x-amz-object-attributes") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""))
    if (wanted.size === 0) return yield* s3Error("InvalidArgument", "x-amz-object-attributes must name at least one of ETag, Checksum, ObjectParts, StorageClass, ObjectSize")
    const info = yield* ctx.store.headObject(bucket, key, versionId).pipe(Effect.mapError(fromStoreError))
    const failed = evaluateConditions(conditionHeaders(ctx), etagOf(info.attributes), info.createdMs)
    if (failed !== undefined) return yield* failed.code === "NotModified" ? s3Error("PreconditionFailed", "Not modified") : failed
    const checksums = checksumsOf(info.attributes)
    const parts = wanted.has("ObjectParts") && info.parts > 0 ? objectPartsXml(ctx, info) : undefined
    if (parts instanceof S3Error) return yield* parts
    return xmlResponse(
      s3Root("GetObjectAttributesResponse", [
        wanted.has("ETag") ? xmlElement("ETag", bareEtag(etagOf(info.attributes))) : undefined,
        wanted.has("Checksum") && checksums.length > 0 ? xmlElement("Checksum", checksums.map(([a, v]) => xmlElement(checksumElement[a], v))) : undefined,
        parts,
        wanted.has("StorageClass") ? xmlElement("StorageClass", "STANDARD") : undefined,
        wanted.has("ObjectSize") ? xmlElement("ObjectSize", info.size) : undefined
      ]),
      [["last-modified", httpDate(info.createdMs)], ...versionHeader(info.version ?? (versionId === undefined ? undefined : "null"))]
    )
  })

/** ObjectParts of GetObjectAttributes: the parts after `part-number-marker`, at most `max-parts` (from x-amz- headers, as the SDKs send them). */
const objectPartsXml = (ctx: OperationContext, info: ObjectInfo) => {
  const counts = [xmlElement("TotalPartsCount", info.parts), xmlElement("PartsCount", info.parts)]
  const sizes = partSizesOf(info.attributes)
  // Completed before part sizes were recorded: the counts are all there is.
  if (sizes === undefined) return xmlElement("ObjectParts", counts)
  const number = (name: string, fallback: number): number | S3Error => {
    const text = header(ctx, name)
    if (text === undefined || text === "") return fallback
    return /^\d{1,5}$/.test(text) ? Number(text) : s3Error("InvalidArgument", `${name} must be a whole number`, [["ArgumentName", name], ["ArgumentValue", text]])
  }
  const maxParts = number("x-amz-max-parts", 1000)
  if (maxParts instanceof S3Error) return maxParts
  const marker = number("x-amz-part-number-marker", 0)
  if (marker instanceof S3Error) return marker
  const algorithm = uploadChecksumAlgorithm(info.attributes)
  const checksums = partChecksumsOf(info.attributes)
  const page = sizes.map((size, i) => ({ partNumber: i + 1, size, checksum: checksums?.[i] })).filter((p) => p.partNumber > marker).slice(0, Math.min(maxParts, 1000))
  const last = page[page.length - 1]?.partNumber ?? marker
  return xmlElement("ObjectParts", [
    ...counts,
    xmlElement("PartNumberMarker", marker),
    xmlElement("NextPartNumberMarker", last),
    xmlElement("MaxParts", maxParts),
    xmlElement("IsTruncated", last < sizes.length),
    page.map((p) =>
      xmlElement("Part", [
        xmlElement("PartNumber", p.partNumber),
        xmlElement("Size", p.size),
        algorithm === undefined || p.checksum === undefined ? undefined : xmlElement(checksumElement[algorithm], p.checksum)
      ]))
  ])
}

