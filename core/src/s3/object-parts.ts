/**
 * The part layout of an object assembled by CompleteMultipartUpload, kept
 * in its attributes by the S3 layer (the store records only how many parts
 * there were): the parts' sizes, for GetObject/HeadObject `?partNumber=N`
 * and GetObjectAttributes' ObjectParts, and the upload's id, so that a
 * client retrying a CompleteMultipartUpload whose answer it lost gets the
 * same answer again instead of NoSuchUpload (S3 and RGW both do this).
 *
 * Sizes are run-length encoded ("5242880*9999,1234"): parts are almost
 * always equal but the last, so 10,000 parts stay a few bytes.
 *
 * An upload created with x-amz-checksum-algorithm keeps the algorithm, and
 * its object the parts' checksums and the composite checksum S3 defines:
 * the checksum of the parts' raw checksums, then "-N".
 */
import { Base64 } from "effect/encoding"
import { Result } from "effect"
import type { Attributes, ByteRange } from "../object/object-api.ts"
import { attribute } from "./attributes.ts"
import type { DigestShape } from "./digest.ts"
import { S3Error, s3Error } from "./errors.ts"
import { checksumAlgorithms, type ChecksumAlgorithm } from "./payload.ts"

export const PART_SIZES_ATTRIBUTE = "multipart:part-sizes"
export const UPLOAD_ID_ATTRIBUTE = "multipart:upload-id"
export const CHECKSUM_ALGORITHM_ATTRIBUTE = "multipart:checksum-algorithm"
export const PART_CHECKSUMS_ATTRIBUTE = "multipart:part-checksums"

export const uploadChecksumAlgorithm = (attributes: Attributes): ChecksumAlgorithm | undefined => {
  const a = attribute(attributes, CHECKSUM_ALGORITHM_ATTRIBUTE)
  return checksumAlgorithms.find((c) => c === a)
}

/** The composite checksum of parts whose checksums (base64) are given; undefined if one is missing or malformed. */
export const compositeChecksum = (digest: DigestShape, algorithm: ChecksumAlgorithm, parts: ReadonlyArray<string | undefined>): string | undefined => {
  const hasher = digest.hasher(algorithm)
  for (const value of parts) {
    const raw = value === undefined ? undefined : Base64.decode(value)
    if (raw === undefined || Result.isFailure(raw)) return undefined
    hasher.update(raw.success)
  }
  return `${Base64.encode(hasher.digest())}-${parts.length}`
}

/** The recorded checksums of the parts, in part order (one per part), when the upload had an algorithm. */
export const partChecksumsOf = (attributes: Attributes): ReadonlyArray<string> | undefined => attribute(attributes, PART_CHECKSUMS_ATTRIBUTE)?.split(",")

export const encodePartSizes = (sizes: ReadonlyArray<number>): string => {
  const runs: Array<string> = []
  for (let i = 0; i < sizes.length;) {
    let j = i
    while (j < sizes.length && sizes[j] === sizes[i]) j++
    runs.push(j - i === 1 ? String(sizes[i]) : `${sizes[i]}*${j - i}`)
    i = j
  }
  return runs.join(",")
}

/** The recorded part sizes; undefined for an object without them (single-part, or completed before they were recorded). */
export const partSizesOf = (attributes: Attributes): ReadonlyArray<number> | undefined => {
  const text = attribute(attributes, PART_SIZES_ATTRIBUTE)
  if (text === undefined) return undefined
  const sizes: Array<number> = []
  for (const run of text.split(",")) {
    const m = /^(\d{1,16})(?:\*(\d{1,5}))?$/.exec(run)
    if (m === null) return undefined
    for (let n = Number(m[2] ?? 1); n > 0; n--) sizes.push(Number(m[1]))
  }
  return sizes
}

export const invalidPart = (partNumber: number) =>
  s3Error("InvalidPart", "The requested partnumber is not satisfiable", [["PartNumber", String(partNumber)]])

/** The `partNumber` query parameter of a read: undefined when absent, 1..10000 otherwise. */
export const partNumberParam = (text: string | undefined): number | undefined | S3Error => {
  if (text === undefined) return undefined
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 10_000) {
    return s3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", [["ArgumentName", "partNumber"], ["ArgumentValue", text]])
  }
  return Number(text)
}

/**
 * The bytes of part `partNumber` of an object of `parts` parts: undefined
 * means the whole object (part 1 of a single-part object, as S3 answers).
 */
export const partRange = (info: { readonly parts: number; readonly attributes: Attributes }, partNumber: number): ByteRange | undefined | S3Error => {
  if (info.parts === 0) return partNumber === 1 ? undefined : invalidPart(partNumber)
  const sizes = partSizesOf(info.attributes)
  if (sizes === undefined) return s3Error("NotImplemented", "This object was completed before its part layout was recorded; read it by range instead")
  if (partNumber > sizes.length) return invalidPart(partNumber)
  let start = 0
  for (let i = 0; i < partNumber - 1; i++) start += sizes[i]!
  return { start, end: start + sizes[partNumber - 1]! }
}
