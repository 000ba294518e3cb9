/**
 * The protocol's answer to a request Cairn cannot serve. For ApiVersions
 * in a version the broker lacks, KIP-511 asks for a v0 response with
 * UNSUPPORTED_VERSION (35) that still lists the supported ranges, so the
 * client retries with a version both sides speak (a v0 response is
 * readable whatever version the client asked for).
 */
import type { Result } from "effect"
import { supportedApiVersions } from "./api-table.ts"
import type { KafkaEncodeError } from "./errors.ts"
import { encodeResponse } from "./request.ts"

export const ERROR_NONE = 0
export const ERROR_UNSUPPORTED_VERSION = 35

/** The framed ApiVersions v0 response carrying UNSUPPORTED_VERSION and the API table. */
export const unsupportedApiVersionsResponse = (correlationId: number): Result.Result<Uint8Array, KafkaEncodeError> =>
  encodeResponse("ApiVersions", 0, correlationId, {
    errorCode: ERROR_UNSUPPORTED_VERSION,
    apiKeys: supportedApiVersions(),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1n,
    finalizedFeatures: [],
    zkMigrationReady: false
  })
