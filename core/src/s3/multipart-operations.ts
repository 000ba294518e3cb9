/**
 * Multipart uploads: create, upload a part (or copy one from an object
 * range), complete (parts ascending, each but the last at least 5 MiB, each
 * ETag matching the part stored; ETag = MD5 of the parts' MD5s, "-N"),
 * abort, and the two listings.
 */
import { Effect, Option, Stream } from "effect"
import type { Attributes, PartInfo } from "../object/object-api.ts"
import { acceptRequestedAcl } from "./acl.ts"
import { attribute, attributesFromHeaders, bareEtag, checksumsOf, etagOf } from "./attributes.ts"
import { expirationHeaders } from "./lifecycle/match.ts"
import { accessBucket, emptyResponse, header, intParam, type OperationContext, param, readSmallBody, xmlResponse } from "./context.ts"
import { toHex } from "./digest.ts"
import { fromStoreError, S3Error, s3Error } from "./errors.ts"
import { checkKey } from "./names.ts"
import { hashingStream, MAX_PUT_BYTES, openCopySource, parseCopySource, writeCondition, writtenVersionHeader } from "./object-operations.ts"
import {
  CHECKSUM_ALGORITHM_ATTRIBUTE,
  compositeChecksum,
  encodePartSizes,
  PART_CHECKSUMS_ATTRIBUTE,
  PART_SIZES_ATTRIBUTE,
  UPLOAD_ID_ATTRIBUTE,
  uploadChecksumAlgorithm
} from "./object-parts.ts"
import { type ChecksumAlgorithm, prepareBody } from "./payload.ts"
import type { S3Response } from "./request.ts"
import { isoDate } from "./time.ts"
import { MAX_XML_BODY_BYTES, parseCompleteMultipartUpload } from "./xml-parse.ts"
import { s3Root, xmlElement, xmlOptional } from "./xml-render.ts"

export const MIN_PART_BYTES = 5 * 1024 * 1024
export const MAX_PARTS = 10_000

export const createUpload = (ctx: OperationContext, bucket: string, key: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const badKey = checkKey(key)
    if (badKey !== undefined) return yield* badKey
    yield* acceptRequestedAcl(ctx, (yield* accessBucket(ctx, bucket)).owner)
    const attributes = attributesFromHeaders(ctx.request)
    if (attributes instanceof S3Error) return yield* attributes
    const algorithm = header(ctx, "x-amz-checksum-algorithm")?.toLowerCase()
    if (algorithm !== undefined && !["crc32", "crc32c", "sha1", "sha256"].includes(algorithm)) return yield* s3Error("InvalidRequest", `Checksum algorithm ${algorithm} is not supported`)
    const kept = algorithm === undefined ? attributes : [...attributes, [CHECKSUM_ALGORITHM_ATTRIBUTE, algorithm] as const]
    const upload = yield* ctx.store.createUpload(bucket, key, kept).pipe(Effect.mapError(fromStoreError))
    return xmlResponse(
      s3Root("InitiateMultipartUploadResult", [xmlElement("Bucket", bucket), xmlElement("Key", key), xmlElement("UploadId", upload.uploadId)]),
      algorithm === undefined ? [] : [["x-amz-checksum-algorithm", algorithm.toUpperCase()]]
    )
  })

const partNumberOf = (ctx: OperationContext): number | S3Error => {
  const text = param(ctx, "partNumber") ?? ""
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > MAX_PARTS) return s3Error("InvalidArgument", `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`, [["ArgumentName", "partNumber"], ["ArgumentValue", text]])
  return Number(text)
}

export const uploadPart = (ctx: OperationContext, bucket: string, key: string, uploadId: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const partNumber = partNumberOf(ctx)
    if (partNumber instanceof S3Error) return yield* partNumber
    yield* accessBucket(ctx, bucket)
    const prepared = prepareBody(ctx.request, ctx.payload, ctx.digest)
    if (prepared instanceof S3Error) return yield* prepared
    if (prepared.size === undefined) return yield* s3Error("MissingContentLength", "You must provide the Content-Length HTTP header.")
    if (prepared.size > MAX_PUT_BYTES) return yield* s3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    let checksums: ReadonlyArray<readonly [ChecksumAlgorithm, string]> = []
    const part = yield* ctx.store.uploadPart({
      bucket,
      key,
      uploadId,
      partNumber,
      body: prepared.body,
      size: prepared.size,
      finish: () =>
        Effect.map(prepared.verify, (v) => {
          checksums = v.checksums
          return [["etag", `"${v.md5Hex}"`], ...v.checksums.map(([a, c]) => [`checksum:${a}`, c] as const)]
        })
    }).pipe(Effect.mapError(fromStoreError))
    return emptyResponse(200, [["etag", etagOf(part.attributes)], ...checksums.map(([a, c]) => [`x-amz-checksum-${a}`, c] as const)])
  })

export const uploadPartCopy = (ctx: OperationContext, bucket: string, key: string, uploadId: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const partNumber = partNumberOf(ctx)
    if (partNumber instanceof S3Error) return yield* partNumber
    yield* accessBucket(ctx, bucket)
    const rangeText = header(ctx, "x-amz-copy-source-range")
    let range = undefined
    if (rangeText !== undefined) {
      const m = /^bytes=(\d{1,15})-(\d{1,15})$/.exec(rangeText.trim())
      if (m === null || Number(m[2]) < Number(m[1])) return yield* s3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
      range = { start: Number(m[1]), end: Number(m[2]) + 1 }
    }
    if (range !== undefined) {
      // Checked against the source's size here for S3's error rather than the store's.
      const source = parseCopySource(ctx)
      if (source instanceof S3Error) return yield* source
      yield* accessBucket(ctx, source.bucket)
      const head = yield* ctx.store.headObject(source.bucket, source.key, source.versionId).pipe(Effect.mapError(fromStoreError))
      if (range.end > head.size) return yield* s3Error("InvalidRange", "The requested range is not satisfiable", [["ActualObjectSize", String(head.size)]])
    }
    const { output } = yield* openCopySource(ctx, range)
    const { stream, digests } = hashingStream(ctx, Stream.mapError(output.body, fromStoreError), ["md5"])
    const part = yield* ctx.store.uploadPart({
      bucket,
      key,
      uploadId,
      partNumber,
      body: stream,
      size: output.range.end - output.range.start,
      finish: () => Effect.sync(() => [["etag", `"${toHex(digests().get("md5")!)}"`]] as const)
    }).pipe(Effect.mapError(fromStoreError))
    return xmlResponse(s3Root("CopyPartResult", [xmlElement("ETag", etagOf(part.attributes)), xmlElement("LastModified", isoDate(part.createdMs))]))
  })

const hexBytes = (hex: string): Uint8Array | undefined => {
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined
  const out = new Uint8Array(16)
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

export const completeUpload = (ctx: OperationContext, bucket: string, key: string, uploadId: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const bucketInfo = yield* accessBucket(ctx, bucket)
    // A complete's x-amz-checksum-<alg> names the object's composite checksum, not the XML body's: the body is read without it.
    const bodyHeaders = new Map([...ctx.request.headers].filter(([n]) => !n.startsWith("x-amz-checksum-")))
    const requested = parseCompleteMultipartUpload(yield* readSmallBody({ ...ctx, request: { ...ctx.request, headers: bodyHeaders } }, MAX_XML_BODY_BYTES))
    if (requested instanceof S3Error) return yield* requested
    for (let i = 1; i < requested.length; i++) {
      if (requested[i]!.partNumber <= requested[i - 1]!.partNumber) return yield* s3Error("InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by part number.")
    }
    const condition = yield* writeCondition(ctx, bucket, key)
    const info = yield* ctx.store.completeUpload({
      bucket,
      key,
      uploadId,
      partNumbers: requested.map((p) => p.partNumber),
      ...(condition === undefined ? {} : { condition }),
      finish: (parts: ReadonlyArray<PartInfo>, upload) =>
        Effect.gen(function*() {
          const byNumber = new Map(parts.map((p) => [p.partNumber, p]))
          const md5s = new Uint8Array(16 * requested.length)
          for (const [i, want] of requested.entries()) {
            const part = byNumber.get(want.partNumber)
            const partEtag = part === undefined ? undefined : bareEtag(etagOf(part.attributes))
            if (part === undefined || partEtag !== bareEtag(want.etag)) {
              return yield* s3Error("InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", [["PartNumber", String(want.partNumber)], ["ETag", want.etag]])
            }
            if (i < requested.length - 1 && part.size < MIN_PART_BYTES) {
              return yield* s3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.", [["PartNumber", String(want.partNumber)], ["ProposedSize", String(part.size)], ["MinSizeAllowed", String(MIN_PART_BYTES)]])
            }
            md5s.set(hexBytes(partEtag!) ?? new Uint8Array(16), 16 * i)
          }
          const etag = `"${toHex(digestMd5(ctx, md5s))}-${requested.length}"`
          const sizes = requested.map((want) => byNumber.get(want.partNumber)!.size)
          const checksum = yield* uploadChecksum(ctx, upload.attributes, requested.map((want) => byNumber.get(want.partNumber)!))
          return [
            ...upload.attributes.filter(([n]) => n !== "etag"),
            ["etag", etag],
            [PART_SIZES_ATTRIBUTE, encodePartSizes(sizes)],
            [UPLOAD_ID_ATTRIBUTE, uploadId],
            ...checksum
          ] as const
        })
    }).pipe(
      // A retried complete (its first answer lost) finds the upload gone: if the key's current
      // object is what that upload made, the first complete succeeded, and it answers the same.
      Effect.catchTag("NoSuchUploadError", (e) =>
        Effect.flatMap(Effect.option(ctx.store.headObject(bucket, key)), (current) =>
          Option.isSome(current) && attribute(current.value.attributes, UPLOAD_ID_ATTRIBUTE) === uploadId ? Effect.succeed(current.value) : Effect.fail(e))),
      Effect.mapError(fromStoreError)
    )
    return xmlResponse(
      s3Root("CompleteMultipartUploadResult", [
        xmlElement("Location", `/${bucket}/${key}`),
        xmlElement("Bucket", bucket),
        xmlElement("Key", key),
        xmlElement("ETag", etagOf(info.attributes)),
        checksumsOf(info.attributes).map(([a, v]) => xmlElement(checksumElement[a], v))
      ]),
      [...writtenVersionHeader(info.version), ...expirationHeaders(bucketInfo.attributes, info)]
    )
  })

/**
 * For an upload created with a checksum algorithm: the object's composite checksum (and the
 * parts' checksums), checked against the one the complete request names (x-amz-checksum-<alg>).
 */
const uploadChecksum = (ctx: OperationContext, uploadAttributes: Attributes, parts: ReadonlyArray<PartInfo>): Effect.Effect<ReadonlyArray<readonly [string, string]>, S3Error> => {
  const algorithm = uploadChecksumAlgorithm(uploadAttributes)
  if (algorithm === undefined) return Effect.succeed([])
  const values = parts.map((p) => attribute(p.attributes, `checksum:${algorithm}`))
  const composite = compositeChecksum(ctx.digest, algorithm, values)
  if (composite === undefined) return Effect.fail(s3Error("InvalidRequest", `Every part of an upload created with the ${algorithm.toUpperCase()} checksum algorithm needs its checksum`))
  const claimed = header(ctx, `x-amz-checksum-${algorithm}`)
  if (claimed !== undefined && claimed !== composite && claimed !== composite.slice(0, composite.lastIndexOf("-"))) {
    return Effect.fail(s3Error("BadDigest", `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`))
  }
  return Effect.succeed([[`checksum:${algorithm}`, composite], [PART_CHECKSUMS_ATTRIBUTE, values.join(",")]])
}

const digestMd5 = (ctx: OperationContext, data: Uint8Array): Uint8Array => {
  const h = ctx.digest.hasher("md5")
  h.update(data)
  return h.digest()
}

export const abortUpload = (ctx: OperationContext, bucket: string, key: string, uploadId: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    yield* accessBucket(ctx, bucket)
    yield* ctx.store.abortUpload(bucket, key, uploadId).pipe(Effect.mapError(fromStoreError))
    return emptyResponse(204)
  })

const checksumElement: Record<ChecksumAlgorithm, string> = { crc32: "ChecksumCRC32", crc32c: "ChecksumCRC32C", sha1: "ChecksumSHA1", sha256: "ChecksumSHA256" }

export const listParts = (ctx: OperationContext, bucket: string, key: string, uploadId: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    yield* accessBucket(ctx, bucket)
    const maxParts = intParam(ctx, "max-parts", 1000, 0, 1000)
    if (maxParts instanceof S3Error) return yield* maxParts
    const marker = intParam(ctx, "part-number-marker", 0, 0, MAX_PARTS)
    if (marker instanceof S3Error) return yield* marker
    const { upload, parts } = yield* ctx.store.listParts(bucket, key, uploadId).pipe(Effect.mapError(fromStoreError))
    const after = [...parts].sort((a, b) => a.partNumber - b.partNumber).filter((p) => p.partNumber > marker)
    const page = after.slice(0, maxParts)
    const truncated = after.length > page.length
    return xmlResponse(
      s3Root("ListPartsResult", [
        xmlElement("Bucket", bucket),
        xmlElement("Key", key),
        xmlElement("UploadId", upload.uploadId),
        xmlElement("Initiator", [xmlElement("ID", ctx.user), xmlElement("DisplayName", ctx.user)]),
        xmlElement("Owner", [xmlElement("ID", ctx.user), xmlElement("DisplayName", ctx.user)]),
        xmlElement("StorageClass", "STANDARD"),
        xmlElement("PartNumberMarker", marker),
        xmlOptional("NextPartNumberMarker", page.length > 0 ? page[page.length - 1]!.partNumber : undefined),
        xmlElement("MaxParts", maxParts),
        xmlElement("IsTruncated", truncated),
        page.map((p) =>
          xmlElement("Part", [
            xmlElement("PartNumber", p.partNumber),
            xmlElement("LastModified", isoDate(p.createdMs)),
            xmlElement("ETag", etagOf(p.attributes)),
            xmlElement("Size", p.size),
            checksumsOf(p.attributes).map(([a, v]) => xmlElement(checksumElement[a], v))
          ])
        )
      ])
    )
  })

export const listUploads = (ctx: OperationContext, bucket: string): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    yield* accessBucket(ctx, bucket)
    const maxUploads = intParam(ctx, "max-uploads", 1000, 0, 1000)
    if (maxUploads instanceof S3Error) return yield* maxUploads
    const prefix = param(ctx, "prefix") ?? ""
    const keyMarker = param(ctx, "key-marker") ?? ""
    const uploadIdMarker = param(ctx, "upload-id-marker") ?? ""
    const delimiter = param(ctx, "delimiter") ?? ""
    const all = yield* ctx.store.listUploads(bucket, prefix === "" ? undefined : prefix).pipe(Effect.mapError(fromStoreError))
    const sorted = [...all].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.createdMs - b.createdMs || (a.uploadId < b.uploadId ? -1 : 1)))
    const after = sorted.filter((u) => u.key > keyMarker || (u.key === keyMarker && uploadIdMarker !== "" && u.uploadId > uploadIdMarker))
    const uploads: Array<(typeof sorted)[number]> = []
    const prefixes: Array<string> = []
    let truncated = false
    for (const u of after) {
      if (uploads.length + prefixes.length >= maxUploads) {
        truncated = true
        break
      }
      const rest = u.key.slice(prefix.length)
      const at = delimiter === "" ? -1 : rest.indexOf(delimiter)
      if (at >= 0) {
        const p = prefix + rest.slice(0, at + delimiter.length)
        if (!prefixes.includes(p)) prefixes.push(p)
      } else uploads.push(u)
    }
    const last = uploads[uploads.length - 1]
    return xmlResponse(
      s3Root("ListMultipartUploadsResult", [
        xmlElement("Bucket", bucket),
        xmlElement("KeyMarker", keyMarker),
        xmlElement("UploadIdMarker", uploadIdMarker),
        xmlOptional("NextKeyMarker", truncated ? last?.key : undefined),
        xmlOptional("NextUploadIdMarker", truncated ? last?.uploadId : undefined),
        xmlOptional("Prefix", prefix),
        xmlOptional("Delimiter", delimiter === "" ? undefined : delimiter),
        xmlElement("MaxUploads", maxUploads),
        xmlElement("IsTruncated", truncated),
        uploads.map((u) =>
          xmlElement("Upload", [
            xmlElement("Key", u.key),
            xmlElement("UploadId", u.uploadId),
            xmlElement("Initiator", [xmlElement("ID", ctx.user), xmlElement("DisplayName", ctx.user)]),
            xmlElement("Owner", [xmlElement("ID", ctx.user), xmlElement("DisplayName", ctx.user)]),
            xmlElement("StorageClass", "STANDARD"),
            xmlElement("Initiated", isoDate(u.createdMs))
          ])
        ),
        prefixes.map((p) => xmlElement("CommonPrefixes", xmlElement("Prefix", p)))
      ])
    )
  })

