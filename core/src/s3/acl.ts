/**
 * Access control lists, as far as ownership goes. Cairn's access rule is
 * fixed: a bucket and its objects belong to the user who created the bucket,
 * and only that user (and the admin) may use them. Every bucket and object
 * therefore has one ACL, `private`: its owner with FULL_CONTROL. That is what
 * GetBucketAcl and GetObjectAcl answer, and the only ACL that PutBucketAcl,
 * PutObjectAcl and the `x-amz-acl` / `x-amz-grant-*` headers of PutObject,
 * CopyObject, CreateBucket and CreateMultipartUpload accept (the canned ACLs
 * `private`, `bucket-owner-full-control` and `bucket-owner-read` all mean it
 * here, because an object's owner is its bucket's owner).
 *
 * An ACL that would open access to anyone else (public-read,
 * authenticated-read, a grant to another user, a group or an e-mail
 * address) is refused with AccessDenied, as S3 refuses public ACLs when a
 * bucket blocks public access: sharing waits for bucket policies. An ACL
 * that would take permissions away from the owner is NotImplemented.
 * Nothing is stored: the ACL is implied by the owner.
 */
import { Effect } from "effect"
import { isVersionId } from "../object/object-api.ts"
import { accessBucket, emptyResponse, header, type OperationContext, param, readSmallBody, xmlResponse } from "./context.ts"
import { fromStoreError, S3Error, s3Error } from "./errors.ts"
import type { S3Request, S3Response } from "./request.ts"
import { parseXmlRoot } from "./xml-parse.ts"
import { s3Root, xmlElement } from "./xml-render.ts"

export type Permission = "FULL_CONTROL" | "READ" | "WRITE" | "READ_ACP" | "WRITE_ACP"

export type Grantee =
  | { readonly type: "CanonicalUser"; readonly id: string }
  | { readonly type: "Group"; readonly uri: string }
  | { readonly type: "AmazonCustomerByEmail"; readonly email: string }

export interface Grant {
  readonly grantee: Grantee
  readonly permission: Permission
}

/** Canned ACLs that grant only the owner (an object's owner is its bucket's owner), and those that share. */
const ownerOnlyCanned = new Set(["private", "bucket-owner-full-control", "bucket-owner-read"])
const sharingCanned = new Set(["public-read", "public-read-write", "authenticated-read", "aws-exec-read", "log-delivery-write"])

const grantHeaders: ReadonlyArray<readonly [string, Permission]> = [
  ["x-amz-grant-full-control", "FULL_CONTROL"],
  ["x-amz-grant-read", "READ"],
  ["x-amz-grant-write", "WRITE"],
  ["x-amz-grant-read-acp", "READ_ACP"],
  ["x-amz-grant-write-acp", "WRITE_ACP"]
]

const permissions = new Set<string>(grantHeaders.map(([, p]) => p))

export const sharedAclRefused = (what: string): S3Error =>
  s3Error(
    "AccessDenied",
    `Public and shared ACLs are not supported (${what}): a bucket and its objects are private to the bucket's owner (and the admin) until Cairn has bucket policies. Use the canned ACL private, or none.`
  )

const describe = (g: Grantee): string => (g.type === "CanonicalUser" ? `a grant to user ${g.id}` : g.type === "Group" ? `a grant to group ${g.uri}` : `a grant to ${g.email}`)

/** Undefined when the grants are the owner's FULL_CONTROL (repeated or with lesser grants to the owner); else why not. */
export const judgeGrants = (grants: ReadonlyArray<Grant>, owner: string): S3Error | undefined => {
  const other = grants.find((g) => g.grantee.type !== "CanonicalUser" || g.grantee.id !== owner)
  if (other !== undefined) return sharedAclRefused(describe(other.grantee))
  if (!grants.some((g) => g.permission === "FULL_CONTROL")) {
    return s3Error("NotImplemented", "An ACL that takes permissions away from the owner is not supported: the owner always has FULL_CONTROL")
  }
  return undefined
}

/** The grants of one `x-amz-grant-*` header: `id="…", uri="…", emailAddress="…"`, comma separated. */
export const parseGrantHeader = (value: string, permission: Permission): ReadonlyArray<Grant> | S3Error => {
  const grants: Array<Grant> = []
  const item = /\s*(id|uri|emailAddress)\s*=\s*(?:"([^"]*)"|([^,"\s]+))\s*(?:,|$)/iy
  while (item.lastIndex < value.length) {
    const m = item.exec(value)
    if (m === null) return s3Error("InvalidArgument", `Invalid grant header value: ${value}`, [["ArgumentName", "x-amz-grant"], ["ArgumentValue", value]])
    const kind = m[1]!.toLowerCase()
    const v = m[2] ?? m[3]!
    const grantee: Grantee = kind === "id" ? { type: "CanonicalUser", id: v } : kind === "uri" ? { type: "Group", uri: v } : { type: "AmazonCustomerByEmail", email: v }
    grants.push({ grantee, permission })
  }
  if (grants.length === 0) return s3Error("InvalidArgument", "A grant header names no grantee", [["ArgumentName", "x-amz-grant"]])
  return grants
}

/**
 * The ACL a request's headers ask for (x-amz-acl or x-amz-grant-*), judged
 * against the owner; undefined when acceptable or when none is asked for.
 */
export const requestedAclProblem = (request: S3Request, owner: string): S3Error | undefined => {
  const canned = request.headers.get("x-amz-acl")?.trim()
  const granted = grantHeaders.filter(([name]) => request.headers.has(name))
  if (canned !== undefined && granted.length > 0) return s3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
  if (canned !== undefined) {
    if (ownerOnlyCanned.has(canned)) return undefined
    if (sharingCanned.has(canned)) return sharedAclRefused(`the canned ACL ${canned}`)
    return s3Error("InvalidArgument", `Unknown canned ACL ${canned}`, [["ArgumentName", "x-amz-acl"], ["ArgumentValue", canned]])
  }
  if (granted.length === 0) return undefined
  const grants: Array<Grant> = []
  for (const [name, permission] of granted) {
    const parsed = parseGrantHeader(request.headers.get(name)!, permission)
    if (parsed instanceof S3Error) return parsed
    grants.push(...parsed)
  }
  return judgeGrants(grants, owner)
}

/** For the writes that take ACL headers: fails when the ACL asked for is not the owner's private one. */
export const acceptRequestedAcl = (ctx: OperationContext, owner: string): Effect.Effect<void, S3Error> => {
  const problem = requestedAclProblem(ctx.request, owner)
  return problem === undefined ? Effect.void : Effect.fail(problem)
}

type XmlNode = Record<string, unknown>

const asNode = (value: unknown): XmlNode => (typeof value === "object" && value !== null && !Array.isArray(value) ? (value as XmlNode) : {})
const textOf = (node: XmlNode, name: string): string | undefined => {
  const v = node[name]
  return typeof v === "string" ? v.trim() : undefined
}
/** One element or several of the same name, as a list. */
const all = (value: unknown): ReadonlyArray<unknown> => (Array.isArray(value) ? value : value === undefined ? [] : [value])

const malformedAcl = (why: string) => s3Error("MalformedACLError", `The XML you provided was not well-formed or did not validate against our published schema (${why})`)

const granteeOf = (node: XmlNode): Grantee | undefined => {
  const id = textOf(node, "ID")
  const uri = textOf(node, "URI")
  const email = textOf(node, "EmailAddress")
  return id !== undefined ? { type: "CanonicalUser", id } : uri !== undefined ? { type: "Group", uri } : email !== undefined ? { type: "AmazonCustomerByEmail", email } : undefined
}

/** A PutBucketAcl / PutObjectAcl body: the owner it names (if any) and its grants. */
export const parseAccessControlPolicy = (body: Uint8Array): { readonly owner: string | undefined; readonly grants: ReadonlyArray<Grant> } | S3Error => {
  const root = parseXmlRoot(body, "AccessControlPolicy")
  if (root instanceof S3Error) return root
  if (root.AccessControlList === undefined) return malformedAcl("AccessControlPolicy needs an AccessControlList")
  const grants: Array<Grant> = []
  for (const raw of all(asNode(root.AccessControlList).Grant)) {
    const node = asNode(raw)
    const grantee = granteeOf(asNode(node.Grantee))
    const permission = textOf(node, "Permission")
    if (grantee === undefined) return malformedAcl("a Grantee needs an ID, a URI or an EmailAddress")
    if (permission === undefined || !permissions.has(permission)) return malformedAcl(`unknown Permission ${permission ?? "(none)"}`)
    grants.push({ grantee, permission: permission as Permission })
  }
  return { owner: root.Owner === undefined ? undefined : textOf(asNode(root.Owner), "ID"), grants }
}

const userXml = (id: string) => [xmlElement("ID", id), xmlElement("DisplayName", id)]

/** The AccessControlPolicy S3 answers for a private resource of `owner`. */
export const privateAclXml = (owner: string) =>
  s3Root("AccessControlPolicy", [
    xmlElement("Owner", userXml(owner)),
    xmlElement(
      "AccessControlList",
      xmlElement("Grant", [
        xmlElement("Grantee", userXml(owner), [["xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"], ["xsi:type", "CanonicalUser"]]),
        xmlElement("Permission", "FULL_CONTROL")
      ])
    )
  ])

/** The owner of the bucket, or of the object (version) when a key is given; NoSuchKey/NoSuchVersion when there is none. */
const ownerOf = (ctx: OperationContext, bucket: string, key: string | undefined): Effect.Effect<string, S3Error> =>
  Effect.gen(function*() {
    const versionId = key === undefined ? undefined : param(ctx, "versionId")
    if (versionId !== undefined && !isVersionId(versionId)) {
      return yield* s3Error("InvalidArgument", "Invalid version id specified", [["ArgumentName", "versionId"], ["ArgumentValue", versionId]])
    }
    const info = yield* accessBucket(ctx, bucket)
    if (key !== undefined) yield* ctx.store.headObject(bucket, key, versionId).pipe(Effect.mapError(fromStoreError))
    return info.owner
  })

const getAcl = (ctx: OperationContext, bucket: string, key: string | undefined): Effect.Effect<S3Response, S3Error> =>
  Effect.map(ownerOf(ctx, bucket, key), (owner) => xmlResponse(privateAclXml(owner)))

const putAcl = (ctx: OperationContext, bucket: string, key: string | undefined): Effect.Effect<S3Response, S3Error> =>
  Effect.gen(function*() {
    const owner = yield* ownerOf(ctx, bucket, key)
    const body = yield* readSmallBody(ctx, 64 * 1024)
    const inHeaders = header(ctx, "x-amz-acl") !== undefined || grantHeaders.some(([name]) => ctx.request.headers.has(name))
    if (inHeaders) {
      if (body.length > 0) return yield* s3Error("InvalidRequest", "Give the ACL either in headers or as an AccessControlPolicy body, not both")
      yield* acceptRequestedAcl(ctx, owner)
      return emptyResponse(200)
    }
    if (body.length === 0) return yield* s3Error("MissingSecurityHeader", "Your request was missing a required header: x-amz-acl, an x-amz-grant-* header, or an AccessControlPolicy body", [["MissingHeaderName", "x-amz-acl"]])
    const policy = parseAccessControlPolicy(body)
    if (policy instanceof S3Error) return yield* policy
    if (policy.owner !== undefined && policy.owner !== owner) return yield* s3Error("AccessDenied", `The owner cannot be changed: this ${key === undefined ? "bucket" : "object"} belongs to ${owner}`)
    const problem = judgeGrants(policy.grants, owner)
    if (problem !== undefined) return yield* problem
    return emptyResponse(200)
  })

/** `?acl` on a bucket (key undefined) or an object: GET answers the ACL, PUT accepts only the private one. */
export const aclOperation = (ctx: OperationContext, bucket: string, key: string | undefined): Effect.Effect<S3Response, S3Error> => {
  const method = ctx.request.method
  if (method === "GET") return getAcl(ctx, bucket, key)
  if (method === "PUT") return putAcl(ctx, bucket, key)
  return Effect.fail(s3Error("MethodNotAllowed", `The specified method ${method} is not allowed against the ACL.`, [["Method", method]]))
}
