/**
 * S3 errors: the codes clients act on, their HTTP status, and the XML error
 * document (with the request id) every failed request answers with.
 *
 * Handlers fail with `S3Error` only; the store's typed errors are mapped to
 * it in one place (`fromStoreError`), so no store failure reaches a client
 * as anything but a documented S3 code.
 */
import { Data } from "effect"
import type {
  BucketExistsError,
  BucketNotEmptyError,
  DeleteMarkerError,
  InvalidPartError,
  InvalidRangeError,
  NoSuchBucketError,
  NoSuchKeyError,
  NoSuchUploadError,
  NoSuchVersionError,
  ObjectBodyError,
  ObjectDataError,
  ObjectStoreUnavailableError,
  PreconditionFailedError
} from "../object/object-api.ts"
import { xmlDocument, xmlElement } from "./xml-render.ts"

export const errorStatus = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  CORSResponse: 403,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidChunkSizeError: 400,
  InvalidDigest: 400,
  InvalidLocationConstraint: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidTag: 400,
  KeyTooLongError: 400,
  MalformedACLError: 400,
  MalformedXML: 400,
  MaxMessageLengthExceeded: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  MissingSecurityHeader: 400,
  NoSuchBucket: 404,
  NoSuchCORSConfiguration: 404,
  NoSuchKey: 404,
  NoSuchLifecycleConfiguration: 404,
  NoSuchTagSet: 404,
  NoSuchUpload: 404,
  NoSuchVersion: 404,
  NotImplemented: 501,
  NotModified: 304,
  PreconditionFailed: 412,
  RequestHeaderSectionTooLarge: 431,
  RequestTimeout: 400,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400
} as const

export type S3ErrorCode = keyof typeof errorStatus

export class S3Error extends Data.TaggedError("S3Error")<{
  readonly code: S3ErrorCode
  readonly message: string
  /** Extra elements of the error document (BucketName, Key, Condition, ...). */
  readonly details?: ReadonlyArray<readonly [string, string]>
  /** Extra response headers (Retry-After, Allow, ...). */
  readonly headers?: ReadonlyArray<readonly [string, string]>
}> {}

export const s3Error = (code: S3ErrorCode, message: string, details?: ReadonlyArray<readonly [string, string]>): S3Error =>
  new S3Error(details === undefined ? { code, message } : { code, message, details })

export const statusOf = (error: S3Error): number => errorStatus[error.code]

/** The error document; `resource` is the request path, `requestId` the one in `x-amz-request-id`. */
export const errorXml = (error: S3Error, resource: string, requestId: string): string =>
  xmlDocument(
    xmlElement("Error", [
      xmlElement("Code", error.code),
      xmlElement("Message", error.message),
      ...(error.details ?? []).map(([name, value]) => xmlElement(name, value)),
      xmlElement("Resource", resource),
      xmlElement("RequestId", requestId),
      xmlElement("HostId", requestId)
    ])
  )

export type StoreError =
  | NoSuchBucketError
  | BucketExistsError
  | BucketNotEmptyError
  | NoSuchKeyError
  | NoSuchVersionError
  | DeleteMarkerError
  | NoSuchUploadError
  | InvalidPartError
  | InvalidRangeError
  | PreconditionFailedError
  | ObjectBodyError
  | ObjectDataError
  | ObjectStoreUnavailableError

/** The S3 answer to each of the store's typed failures. */
export const fromStoreError = (error: StoreError | S3Error): S3Error => {
  switch (error._tag) {
    case "S3Error":
      return error
    case "NoSuchBucketError":
      return s3Error("NoSuchBucket", "The specified bucket does not exist", [["BucketName", error.bucket]])
    case "BucketExistsError":
      return s3Error("BucketAlreadyExists", "The requested bucket name is not available", [["BucketName", error.bucket]])
    case "BucketNotEmptyError":
      return s3Error("BucketNotEmpty", "The bucket you tried to delete is not empty", [["BucketName", error.bucket]])
    case "NoSuchKeyError":
      return error.deleteMarker === undefined
        // "false": no delete marker hides the key (RGW says so; a HEAD's 404 has no body to tell).
        ? new S3Error({ code: "NoSuchKey", message: "The specified key does not exist.", details: [["Key", error.key]], headers: [["x-amz-delete-marker", "false"]] })
        : new S3Error({
          code: "NoSuchKey",
          message: "The specified key does not exist.",
          details: [["Key", error.key]],
          headers: [["x-amz-delete-marker", "true"], ["x-amz-version-id", error.deleteMarker]]
        })
    case "NoSuchVersionError":
      return s3Error("NoSuchVersion", "The specified version does not exist.", [["Key", error.key], ["VersionId", error.versionId]])
    case "DeleteMarkerError":
      return new S3Error({
        code: "MethodNotAllowed",
        message: "The specified method is not allowed against this resource.",
        details: [["Method", "GET"], ["ResourceType", "DeleteMarker"]],
        headers: [["x-amz-delete-marker", "true"], ["x-amz-version-id", error.versionId], ["allow", "DELETE"]]
      })
    case "NoSuchUploadError":
      return s3Error("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", [["UploadId", error.uploadId]])
    case "InvalidPartError":
      return s3Error("InvalidPart", error.message, [["PartNumber", String(error.partNumber)]])
    case "InvalidRangeError":
      return s3Error("InvalidRange", "The requested range is not satisfiable", [["ActualObjectSize", String(error.size)]])
    case "PreconditionFailedError":
      return s3Error("PreconditionFailed", `At least one of the pre-conditions you specified did not hold (${error.message})`)
    case "ObjectBodyError":
      return s3Error("IncompleteBody", error.message)
    case "ObjectDataError":
      return new S3Error({ code: "ServiceUnavailable", message: `not enough healthy storage: ${error.message}`, headers: [["retry-after", "1"]] })
    case "ObjectStoreUnavailableError":
      return new S3Error({
        code: "ServiceUnavailable",
        message: error.ambiguous ? `the outcome is unknown (it may still take effect): ${error.message}` : error.message,
        headers: [["retry-after", "1"]]
      })
  }
}
