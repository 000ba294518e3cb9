import { Stream } from "effect"
import { describe, expect, it } from "vitest"
import { judgeGrants, parseAccessControlPolicy, parseGrantHeader, privateAclXml, requestedAclProblem } from "./acl.ts"
import { S3Error } from "./errors.ts"
import type { S3Request } from "./request.ts"
import { xmlDocument } from "./xml-render.ts"

const bytes = (s: string) => new TextEncoder().encode(s)
const code = (v: unknown) => (v instanceof S3Error ? v.code : "ok")
const request = (headers: Record<string, string>): S3Request => ({ method: "PUT", rawPath: "/b/k", rawQuery: "", headers: new Map(Object.entries(headers)), body: Stream.empty })

const policy = (grants: string, owner = "<Owner><ID>alice</ID><DisplayName>alice</DisplayName></Owner>") =>
  bytes(`<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${owner}<AccessControlList>${grants}</AccessControlList></AccessControlPolicy>`)
const userGrant = (id: string, permission = "FULL_CONTROL") =>
  `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${id}</ID><DisplayName>${id}</DisplayName></Grantee><Permission>${permission}</Permission></Grant>`
const groupGrant = (uri: string, permission = "READ") =>
  `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>${uri}</URI></Grantee><Permission>${permission}</Permission></Grant>`
const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"

describe("S3 ACLs", () => {
  it("renders the owner's FULL_CONTROL as S3's AccessControlPolicy", () => {
    expect(xmlDocument(privateAclXml("alice"))).toBe(
      `<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>alice</ID><DisplayName>alice</DisplayName></Owner>` +
        `<AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>alice</ID><DisplayName>alice</DisplayName></Grantee>` +
        `<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`
    )
  })

  it("accepts the canned ACLs that grant only the owner, or none", () => {
    for (const acl of ["private", "bucket-owner-full-control", "bucket-owner-read"]) expect([acl, code(requestedAclProblem(request({ "x-amz-acl": acl }), "alice"))]).toEqual([acl, "ok"])
    expect(requestedAclProblem(request({}), "alice")).toBeUndefined()
  })

  it("refuses every canned ACL that shares, with AccessDenied saying why; an unknown one is InvalidArgument", () => {
    for (const acl of ["public-read", "public-read-write", "authenticated-read", "aws-exec-read", "log-delivery-write"]) {
      const problem = requestedAclProblem(request({ "x-amz-acl": acl }), "alice")
      expect([acl, code(problem)]).toEqual([acl, "AccessDenied"])
      expect(problem?.message).toMatch(/Public and shared ACLs are not supported \(the canned ACL .*\).*bucket policies/)
    }
    expect(code(requestedAclProblem(request({ "x-amz-acl": "bogus" }), "alice"))).toBe("InvalidArgument")
  })

  it("reads grant headers and accepts only the owner's FULL_CONTROL", () => {
    expect(parseGrantHeader(`id="alice", uri="${ALL_USERS}",emailAddress="x@example.com"`, "READ")).toEqual([
      { grantee: { type: "CanonicalUser", id: "alice" }, permission: "READ" },
      { grantee: { type: "Group", uri: ALL_USERS }, permission: "READ" },
      { grantee: { type: "AmazonCustomerByEmail", email: "x@example.com" }, permission: "READ" }
    ])
    expect(code(parseGrantHeader("nonsense", "READ"))).toBe("InvalidArgument")
    expect(code(requestedAclProblem(request({ "x-amz-grant-full-control": 'id="alice"' }), "alice"))).toBe("ok")
    expect(code(requestedAclProblem(request({ "x-amz-grant-full-control": 'id="alice"', "x-amz-grant-read": "id=alice" }), "alice"))).toBe("ok")
    expect(code(requestedAclProblem(request({ "x-amz-grant-full-control": 'id="bob"' }), "alice"))).toBe("AccessDenied")
    expect(code(requestedAclProblem(request({ "x-amz-grant-full-control": 'id="alice"', "x-amz-grant-read": `uri="${ALL_USERS}"` }), "alice"))).toBe("AccessDenied")
    expect(code(requestedAclProblem(request({ "x-amz-grant-read": 'emailAddress="x@example.com"' }), "alice"))).toBe("AccessDenied")
    // Only READ for the owner would take the rest away: not representable.
    expect(code(requestedAclProblem(request({ "x-amz-grant-read": 'id="alice"' }), "alice"))).toBe("NotImplemented")
    expect(code(requestedAclProblem(request({ "x-amz-acl": "private", "x-amz-grant-read": 'id="alice"' }), "alice"))).toBe("InvalidRequest")
  })

  it("parses an AccessControlPolicy body: owner, grantees by ID, URI or EmailAddress, one grant or many", () => {
    expect(parseAccessControlPolicy(policy(userGrant("alice")))).toEqual({ owner: "alice", grants: [{ grantee: { type: "CanonicalUser", id: "alice" }, permission: "FULL_CONTROL" }] })
    const many = parseAccessControlPolicy(policy(userGrant("alice") + groupGrant(ALL_USERS) + `<Grant><Grantee><EmailAddress>x@example.com</EmailAddress></Grantee><Permission>WRITE</Permission></Grant>`, ""))
    expect(many).toEqual({
      owner: undefined,
      grants: [
        { grantee: { type: "CanonicalUser", id: "alice" }, permission: "FULL_CONTROL" },
        { grantee: { type: "Group", uri: ALL_USERS }, permission: "READ" },
        { grantee: { type: "AmazonCustomerByEmail", email: "x@example.com" }, permission: "WRITE" }
      ]
    })
    expect(code(parseAccessControlPolicy(policy(userGrant("alice", "EVERYTHING"))))).toBe("MalformedACLError")
    expect(code(parseAccessControlPolicy(policy("<Grant><Grantee></Grantee><Permission>READ</Permission></Grant>")))).toBe("MalformedACLError")
    expect(code(parseAccessControlPolicy(bytes("<AccessControlPolicy><Owner><ID>alice</ID></Owner></AccessControlPolicy>")))).toBe("MalformedACLError")
    expect(code(parseAccessControlPolicy(bytes("<AccessControlPolicy><AccessControlList>")))).toBe("MalformedXML")
  })

  it("judges grants: the owner's FULL_CONTROL passes; anyone else is AccessDenied; less for the owner is NotImplemented", () => {
    const parsed = (xml: Uint8Array) => {
      const p = parseAccessControlPolicy(xml)
      if (p instanceof S3Error) throw p
      return p.grants
    }
    expect(judgeGrants(parsed(policy(userGrant("alice"))), "alice")).toBeUndefined()
    expect(judgeGrants(parsed(policy(userGrant("alice") + userGrant("alice", "READ"))), "alice")).toBeUndefined()
    const shared = judgeGrants(parsed(policy(userGrant("alice") + groupGrant(ALL_USERS))), "alice")
    expect([code(shared), shared?.message]).toEqual(["AccessDenied", expect.stringContaining(`a grant to group ${ALL_USERS}`)])
    expect(code(judgeGrants(parsed(policy(userGrant("alice") + userGrant("bob", "READ"))), "alice"))).toBe("AccessDenied")
    expect(code(judgeGrants(parsed(policy(userGrant("alice", "READ"))), "alice"))).toBe("NotImplemented")
    expect(code(judgeGrants([], "alice"))).toBe("NotImplemented")
  })
})
