/**
 * Request and response headers. A request header is v1 (api key, version,
 * correlation id, nullable client id) for a non-flexible request and v2
 * (v1 plus a tagged-field section) for a flexible one; the client id stays
 * a classic int16-length string even in v2. A response header is v0 (the
 * correlation id) or v1 (plus tagged fields) for a flexible response —
 * except ApiVersions, whose response header is always v0, because a client
 * must read it before it knows which versions the broker speaks.
 * (Header v0, without a client id, was only used by ControlledShutdown v0,
 * which Cairn does not serve.)
 */
import { readTaggedSection, writeTaggedSection } from "./codec.ts"
import { KafkaReader } from "./reader.ts"
import type { RawTaggedField, TypeNode } from "./schema.ts"
import { KafkaWriter } from "./writer.ts"

export const API_VERSIONS_KEY = 18

export interface RequestHeader {
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  readonly clientId: string | null
  readonly unknownTaggedFields?: ReadonlyArray<RawTaggedField>
}

/** 1 or 2: the request header version a (non-)flexible request uses. */
export const requestHeaderVersion = (flexible: boolean): 1 | 2 => (flexible ? 2 : 1)

/** 0 or 1: the response header version; ApiVersions always answers with v0. */
export const responseHeaderVersion = (apiKey: number, flexible: boolean): 0 | 1 => (flexible && apiKey !== API_VERSIONS_KEY ? 1 : 0)

/** The fixed start every request header shares: enough to route or refuse a request. */
export const readHeaderPrefix = (r: KafkaReader): { readonly apiKey: number; readonly apiVersion: number; readonly correlationId: number } => ({
  apiKey: r.int16(),
  apiVersion: r.int16(),
  correlationId: r.int32()
})

/** Reads the rest of a request header (client id, then tagged fields in v2) after its prefix. */
export const readHeaderRest = (
  r: KafkaReader,
  prefix: { readonly apiKey: number; readonly apiVersion: number; readonly correlationId: number },
  headerVersion: 1 | 2
): RequestHeader => {
  const clientId = r.string(false, true)
  if (headerVersion === 1) return { ...prefix, clientId }
  const unknown = readRawTags(r)
  return unknown.length > 0 ? { ...prefix, clientId, unknownTaggedFields: unknown } : { ...prefix, clientId }
}

export const writeRequestHeader = (w: KafkaWriter, h: RequestHeader, headerVersion: 1 | 2): void => {
  w.int16(h.apiKey)
  w.int16(h.apiVersion)
  w.int32(h.correlationId)
  w.string(h.clientId, false)
  if (headerVersion === 2) writeTaggedSection(w, h.unknownTaggedFields ?? [])
}

export const writeResponseHeader = (w: KafkaWriter, correlationId: number, headerVersion: 0 | 1): void => {
  w.int32(correlationId)
  if (headerVersion === 1) writeTaggedSection(w, [])
}

/** Reads a response header; a v1 header's tagged fields (none are defined) are skipped. */
export const readResponseHeader = (r: KafkaReader, headerVersion: 0 | 1): number => {
  const correlationId = r.int32()
  if (headerVersion === 1) readRawTags(r)
  return correlationId
}

/** A header's tagged section: no tags are defined for headers, so every one is kept raw. */
const HEADER_TAGS: Extract<TypeNode, { kind: "struct" }> = { kind: "struct", name: "header", fields: [] }

const readRawTags = (r: KafkaReader): ReadonlyArray<RawTaggedField> => readTaggedSection(r, HEADER_TAGS, { version: 0, flexible: true }, {})
