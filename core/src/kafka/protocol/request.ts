/**
 * Whole frames, both directions: a broker decodes requests and encodes
 * responses, a client (tests, the Jepsen workload) the reverse. A frame
 * body here is what follows the int32 size (`frame.ts` splits the stream).
 *
 * Decoding a request reads the fixed header prefix first, so a request
 * for an unknown API or an unsupported version is reported with its
 * correlation id (`KafkaUnsupportedRequestError`) before its body is
 * touched: the broker can still answer it.
 */
import { Result } from "effect"
import { apiByKey, kafkaApis, type ApiName, type RequestOf, type ResponseOf } from "./api-table.ts"
import { KafkaDecodeError, KafkaEncodeError, KafkaUnsupportedRequestError } from "./errors.ts"
import { frameOf } from "./frame.ts"
import {
  readHeaderPrefix,
  readHeaderRest,
  readResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  writeRequestHeader,
  writeResponseHeader,
  type RequestHeader
} from "./header.ts"
import { defaultDecodeLimits, type DecodeLimits } from "./limits.ts"
import { catchingDecode, catchingEncode, expectEnd, isFlexible, readMessage, writeMessage } from "./message-codec.ts"
import { KafkaReader } from "./reader.ts"
import type { MessageSchema } from "./schema.ts"
import { KafkaWriter } from "./writer.ts"

export type DecodedRequest = {
  readonly [N in ApiName]: { readonly api: N; readonly header: RequestHeader; readonly body: RequestOf<N> }
}[ApiName]

// The table's schemas, seen by the interpreter without their per-API types.
const requestSchema = (api: ApiName): MessageSchema<unknown> => kafkaApis[api].request as MessageSchema<unknown>
const responseSchema = (api: ApiName): MessageSchema<unknown> => kafkaApis[api].response as MessageSchema<unknown>

const unsupported = (
  prefix: { readonly apiKey: number; readonly apiVersion: number; readonly correlationId: number },
  reason: "unknown-api" | "unsupported-version",
  message: string
) => new KafkaUnsupportedRequestError({ reason, ...prefix, message })

/** Decodes one request frame body (after the size). */
export const decodeRequest = (
  frameBody: Uint8Array,
  limits: DecodeLimits = defaultDecodeLimits
): Result.Result<DecodedRequest, KafkaDecodeError | KafkaUnsupportedRequestError> => {
  const r = new KafkaReader(frameBody, limits)
  const prefix = catchingDecode(() => readHeaderPrefix(r))
  if (Result.isFailure(prefix)) return Result.fail(prefix.failure)
  const { apiKey, apiVersion } = prefix.success
  const api = apiByKey(apiKey)
  if (api === undefined) return Result.fail(unsupported(prefix.success, "unknown-api", `API key ${apiKey} is not supported`))
  const entry = kafkaApis[api]
  if (apiVersion < entry.minVersion || apiVersion > entry.maxVersion) {
    return Result.fail(
      unsupported(prefix.success, "unsupported-version", `${api} version ${apiVersion} is not supported (${entry.minVersion}-${entry.maxVersion})`)
    )
  }
  const schema = requestSchema(api)
  return catchingDecode(() => {
    const header = readHeaderRest(r, prefix.success, requestHeaderVersion(isFlexible(schema, apiVersion)))
    const body = readMessage(r, schema, apiVersion)
    expectEnd(r, schema.name)
    // `api` and `body` come from the same table entry, so they match.
    return { api, header, body } as DecodedRequest
  })
}

/** Encodes a response to `api` in `version` as a size-prefixed frame. */
export const encodeResponse = <N extends ApiName>(
  api: N,
  version: number,
  correlationId: number,
  body: ResponseOf<N>
): Result.Result<Uint8Array, KafkaEncodeError> =>
  catchingEncode(() => {
    const schema = responseSchema(api)
    const w = new KafkaWriter()
    writeResponseHeader(w, correlationId, responseHeaderVersion(schema.apiKey, isFlexible(schema, version)))
    writeMessage(w, schema, version, body)
    return frameOf(w.finish())
  })

/** Encodes a request (the client's side) as a size-prefixed frame. */
export const encodeRequest = <N extends ApiName>(
  api: N,
  version: number,
  header: { readonly correlationId: number; readonly clientId: string | null },
  body: RequestOf<N>
): Result.Result<Uint8Array, KafkaEncodeError> =>
  catchingEncode(() => {
    const schema = requestSchema(api)
    const w = new KafkaWriter()
    const full: RequestHeader = { apiKey: schema.apiKey, apiVersion: version, ...header }
    writeRequestHeader(w, full, requestHeaderVersion(isFlexible(schema, version)))
    writeMessage(w, schema, version, body)
    return frameOf(w.finish())
  })

/** Decodes a response frame body (the client's side); the caller knows which request it answers. */
export const decodeResponse = <N extends ApiName>(
  api: N,
  version: number,
  frameBody: Uint8Array,
  limits: DecodeLimits = defaultDecodeLimits
): Result.Result<{ readonly correlationId: number; readonly body: ResponseOf<N> }, KafkaDecodeError> =>
  catchingDecode(() => {
    const schema = responseSchema(api)
    const r = new KafkaReader(frameBody, limits)
    const correlationId = readResponseHeader(r, responseHeaderVersion(schema.apiKey, isFlexible(schema, version)))
    const body = readMessage(r, schema, version) as ResponseOf<N>
    expectEnd(r, schema.name)
    return { correlationId, body }
  })
