/**
 * Parsing the XML request bodies S3 clients send (CompleteMultipartUpload,
 * Delete, Tagging, CORSConfiguration, CreateBucketConfiguration) with
 * fast-xml-parser (docs/adr/0008-s3-dependencies.md). Anything that is not
 * well-formed, has a DOCTYPE (entity expansion), or lacks a required element
 * is `MalformedXML`, as in S3; values are checked here so handlers get typed
 * records. References in text (`&amp;`, `&#34;`, `&#x22;`, ...) are decoded
 * by xml-references.ts; an invalid one is MalformedXML too.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser"
import { S3Error, s3Error } from "./errors.ts"
import { makeReferenceDecoder } from "./xml-references.ts"

/** Request bodies of the XML operations are at most this large (1000 keys of 1024 bytes fit). */
export const MAX_XML_BODY_BYTES = 2 * 1024 * 1024

// Elements that may repeat are always lists, even when sent once (lifecycle rules and transitions too).
const listElements = new Set(["Part", "Object", "Tag", "CORSRule", "AllowedMethod", "AllowedOrigin", "AllowedHeader", "ExposeHeader", "Rule", "Transition", "NoncurrentVersionTransition"])

/** A parser per document: its reference decoder remembers the document's first invalid reference. */
const makeParser = () => {
  const references = makeReferenceDecoder()
  const parser = new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false,
    // Keys may begin or end with spaces: keep text as sent.
    trimValues: false,
    removeNSPrefix: true,
    processEntities: true,
    entityDecoder: references.decoder,
    isArray: (name) => listElements.has(name)
  })
  return { parser, problem: references.problem }
}

export type XmlNode = Record<string, unknown>
type Node = XmlNode

export const malformed = (why: string) => s3Error("MalformedXML", `The XML you provided was not well-formed or did not validate against our published schema (${why})`)

const decoder = new TextDecoder("utf-8", { fatal: true })

/** The document's root element `root`, parsed; fails with MalformedXML. */
export const parseXmlRoot = (body: Uint8Array, root: string): Node | S3Error => {
  let text: string
  try {
    text = decoder.decode(body)
  } catch {
    return malformed("not UTF-8")
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) return malformed("DOCTYPE is not allowed")
  if (text.trim() === "") return malformed("empty body")
  const valid = XMLValidator.validate(text)
  if (valid !== true) return malformed(valid.err.msg)
  const { parser, problem } = makeParser()
  let parsed: unknown
  try {
    parsed = parser.parse(text)
  } catch (e) {
    return malformed(String(e))
  }
  const invalidReference = problem()
  if (invalidReference !== undefined) return malformed(invalidReference)
  const node = (parsed as Node)[root]
  if (node === undefined) return malformed(`expected root element ${root}`)
  return asNode(node)
}

/** An element with children ("" for an empty element such as `<TagSet/>`). */
export const asNode = (value: unknown): Node => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Node) : {})

export const xmlText = (node: Node, name: string): string | undefined => {
  const v = node[name]
  return typeof v === "string" ? v : undefined
}

export const xmlList = (node: Node, name: string): ReadonlyArray<unknown> => {
  const v = node[name]
  return Array.isArray(v) ? v : []
}

const texts = (node: Node, name: string): ReadonlyArray<string> => xmlList(node, name).filter((v): v is string => typeof v === "string").map((v) => v.trim())

export interface CompletedPart {
  readonly partNumber: number
  readonly etag: string
}

export const parseCompleteMultipartUpload = (body: Uint8Array): ReadonlyArray<CompletedPart> | S3Error => {
  const root = parseXmlRoot(body, "CompleteMultipartUpload")
  if (root instanceof S3Error) return root
  const parts: Array<CompletedPart> = []
  for (const raw of xmlList(root, "Part")) {
    const part = asNode(raw)
    const number = xmlText(part, "PartNumber")?.trim()
    const etag = xmlText(part, "ETag")?.trim()
    if (number === undefined || !/^\d{1,5}$/.test(number)) return malformed("Part needs a PartNumber")
    if (etag === undefined) return malformed("Part needs an ETag")
    parts.push({ partNumber: Number(number), etag })
  }
  if (parts.length === 0) return malformed("no Part elements")
  return parts
}

export interface DeleteRequest {
  readonly quiet: boolean
  /** Each Object's Key and, when given, its VersionId. */
  readonly objects: ReadonlyArray<{ readonly key: string; readonly versionId?: string }>
}

export const parseDelete = (body: Uint8Array): DeleteRequest | S3Error => {
  const root = parseXmlRoot(body, "Delete")
  if (root instanceof S3Error) return root
  const objects: Array<{ readonly key: string; readonly versionId?: string }> = []
  for (const raw of xmlList(root, "Object")) {
    const key = xmlText(asNode(raw), "Key")
    if (key === undefined || key === "") return malformed("Object needs a Key")
    const versionId = xmlText(asNode(raw), "VersionId")?.trim()
    objects.push(versionId === undefined ? { key } : { key, versionId })
  }
  if (objects.length === 0) return malformed("no Object elements")
  if (objects.length > 1000) return malformed("at most 1000 objects per request")
  return { quiet: xmlText(root, "Quiet")?.trim().toLowerCase() === "true", objects }
}

export type TagSet = ReadonlyArray<readonly [string, string]>

export const parseTagging = (body: Uint8Array): TagSet | S3Error => {
  const root = parseXmlRoot(body, "Tagging")
  if (root instanceof S3Error) return root
  if (root.TagSet === undefined) return malformed("Tagging needs a TagSet")
  const tags: Array<readonly [string, string]> = []
  for (const raw of xmlList(asNode(root.TagSet), "Tag")) {
    const tag = asNode(raw)
    const key = xmlText(tag, "Key")
    const value = xmlText(tag, "Value") ?? ""
    if (key === undefined) return malformed("Tag needs a Key")
    tags.push([key, value])
  }
  return tags
}

export interface CorsRule {
  readonly id?: string
  readonly allowedMethods: ReadonlyArray<string>
  readonly allowedOrigins: ReadonlyArray<string>
  readonly allowedHeaders: ReadonlyArray<string>
  readonly exposeHeaders: ReadonlyArray<string>
  readonly maxAgeSeconds?: number
}

const corsMethods = new Set(["GET", "PUT", "HEAD", "POST", "DELETE"])

export const parseCorsConfiguration = (body: Uint8Array): ReadonlyArray<CorsRule> | S3Error => {
  const root = parseXmlRoot(body, "CORSConfiguration")
  if (root instanceof S3Error) return root
  const rules: Array<CorsRule> = []
  for (const raw of xmlList(root, "CORSRule")) {
    const node = asNode(raw)
    const allowedMethods = texts(node, "AllowedMethod")
    const allowedOrigins = texts(node, "AllowedOrigin")
    if (allowedMethods.length === 0 || allowedOrigins.length === 0) return malformed("CORSRule needs AllowedMethod and AllowedOrigin")
    const bad = allowedMethods.find((m) => !corsMethods.has(m))
    if (bad !== undefined) return s3Error("InvalidRequest", `Found unsupported HTTP method in CORS config. Unsupported method is ${bad}`)
    const id = xmlText(node, "ID")
    const maxAge = xmlText(node, "MaxAgeSeconds")?.trim()
    if (maxAge !== undefined && !/^\d{1,9}$/.test(maxAge)) return malformed("MaxAgeSeconds must be a whole number")
    rules.push({
      ...(id === undefined ? {} : { id }),
      allowedMethods,
      allowedOrigins,
      allowedHeaders: texts(node, "AllowedHeader"),
      exposeHeaders: texts(node, "ExposeHeader"),
      ...(maxAge === undefined ? {} : { maxAgeSeconds: Number(maxAge) })
    })
  }
  if (rules.length === 0) return malformed("no CORSRule elements")
  if (rules.length > 100) return malformed("at most 100 CORS rules")
  return rules
}

/** A PutBucketVersioning body: the Status asked for; MFA delete is refused. */
export const parseVersioningConfiguration = (body: Uint8Array): "enabled" | "suspended" | S3Error => {
  const root = parseXmlRoot(body, "VersioningConfiguration")
  if (root instanceof S3Error) return root
  const mfa = xmlText(root, "MfaDelete")?.trim()
  if (mfa !== undefined && mfa !== "Disabled") {
    return mfa === "Enabled" ? s3Error("NotImplemented", "MFA delete is not supported") : malformed("MfaDelete must be Enabled or Disabled")
  }
  const status = xmlText(root, "Status")?.trim()
  if (status === "Enabled") return "enabled"
  if (status === "Suspended") return "suspended"
  return malformed("Status must be Enabled or Suspended")
}

/** The LocationConstraint of a CreateBucket body ("" when none is given). */
export const parseCreateBucketConfiguration = (body: Uint8Array): string | S3Error => {
  const root = parseXmlRoot(body, "CreateBucketConfiguration")
  if (root instanceof S3Error) return root
  return xmlText(root, "LocationConstraint")?.trim() ?? ""
}
