/**
 * ACLs through @aws-sdk/client-s3 against a one-node Cairn: every bucket and
 * object answers its owner's FULL_CONTROL; the private ACL is accepted
 * wherever S3 takes an ACL (PutBucketAcl, PutObjectAcl, and x-amz-acl on
 * CreateBucket, PutObject, CopyObject, CreateMultipartUpload); anything that
 * would share is refused with AccessDenied (core/src/s3/acl.ts).
 */
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  type Grant,
  HeadObjectCommand,
  type Owner,
  PutBucketAclCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException
} from "@aws-sdk/client-s3"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN, startTestS3, type TestS3 } from "./harness.test-support.ts"

let s3: TestS3
let admin: S3Client
let alice: S3Client
let bob: S3Client

const clientFor = (accessKeyId: string, secretAccessKey: string) =>
  new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 })

/** The S3 error code and HTTP status a command fails with. */
const failure = async (promise: Promise<unknown>): Promise<[string, number | undefined]> => {
  try {
    await promise
  } catch (e) {
    if (e instanceof S3ServiceException) return [e.name, e.$metadata.httpStatusCode]
    throw e
  }
  throw new Error("expected the command to fail")
}

const ownerOnly = (id: string): { Owner: Owner; Grants: Array<Grant> } => ({
  Owner: { ID: id, DisplayName: id },
  Grants: [{ Grantee: { Type: "CanonicalUser", ID: id, DisplayName: id }, Permission: "FULL_CONTROL" }]
})

beforeAll(async () => {
  s3 = await startTestS3()
  await s3.run(s3.users.addKey({ user: "alice", accessKey: "ALICEACCESSKEY000001", secretKey: "alice-secret", createdMs: 0 }))
  await s3.run(s3.users.addKey({ user: "bob", accessKey: "BOBACCESSKEY00000001", secretKey: "bob-secret", createdMs: 0 }))
  admin = clientFor(ADMIN.accessKey, ADMIN.secretKey)
  alice = clientFor("ALICEACCESSKEY000001", "alice-secret")
  bob = clientFor("BOBACCESSKEY00000001", "bob-secret")
})

afterAll(async () => {
  for (const c of [admin, alice, bob]) c?.destroy()
  await s3?.close()
})

describe("S3 ACLs through @aws-sdk/client-s3", () => {
  it("GetBucketAcl and GetObjectAcl answer the owner with FULL_CONTROL, to the owner and the admin only", async () => {
    await alice.send(new CreateBucketCommand({ Bucket: "alice-acl" }))
    await alice.send(new PutObjectCommand({ Bucket: "alice-acl", Key: "doc", Body: "x" }))
    for (const c of [alice, admin]) {
      const bucketAcl = await c.send(new GetBucketAclCommand({ Bucket: "alice-acl" }))
      expect({ Owner: bucketAcl.Owner, Grants: bucketAcl.Grants }).toEqual(ownerOnly("alice"))
      const objectAcl = await c.send(new GetObjectAclCommand({ Bucket: "alice-acl", Key: "doc" }))
      expect({ Owner: objectAcl.Owner, Grants: objectAcl.Grants }).toEqual(ownerOnly("alice"))
    }
    expect(await failure(bob.send(new GetBucketAclCommand({ Bucket: "alice-acl" })))).toEqual(["AccessDenied", 403])
    expect(await failure(bob.send(new GetObjectAclCommand({ Bucket: "alice-acl", Key: "doc" })))).toEqual(["AccessDenied", 403])
    expect(await failure(alice.send(new GetObjectAclCommand({ Bucket: "alice-acl", Key: "missing" })))).toEqual(["NoSuchKey", 404])
    expect(await failure(alice.send(new GetBucketAclCommand({ Bucket: "no-such-acl-bucket" })))).toEqual(["NoSuchBucket", 404])
  })

  it("GetObjectAcl of a version: an old version answers, a version that is not there is NoSuchVersion", async () => {
    await alice.send(new CreateBucketCommand({ Bucket: "alice-acl-versions" }))
    await alice.send(new PutBucketVersioningCommand({ Bucket: "alice-acl-versions", VersioningConfiguration: { Status: "Enabled" } }))
    const first = await alice.send(new PutObjectCommand({ Bucket: "alice-acl-versions", Key: "doc", Body: "v1" }))
    await alice.send(new PutObjectCommand({ Bucket: "alice-acl-versions", Key: "doc", Body: "v2" }))
    const old = await alice.send(new GetObjectAclCommand({ Bucket: "alice-acl-versions", Key: "doc", VersionId: first.VersionId }))
    expect(old.Grants).toEqual(ownerOnly("alice").Grants)
    expect(await failure(alice.send(new GetObjectAclCommand({ Bucket: "alice-acl-versions", Key: "doc", VersionId: "999999999999999-nothere" })))).toEqual(["NoSuchVersion", 404])
    expect(await failure(alice.send(new GetObjectAclCommand({ Bucket: "alice-acl-versions", Key: "doc", VersionId: "not-a-version" })))).toEqual(["InvalidArgument", 400])
  })

  it("PutBucketAcl and PutObjectAcl accept private: canned, as grant headers, or as a policy naming only the owner", async () => {
    await alice.send(new CreateBucketCommand({ Bucket: "alice-put-acl" }))
    await alice.send(new PutObjectCommand({ Bucket: "alice-put-acl", Key: "doc", Body: "x" }))
    await alice.send(new PutBucketAclCommand({ Bucket: "alice-put-acl", ACL: "private" }))
    await alice.send(new PutObjectAclCommand({ Bucket: "alice-put-acl", Key: "doc", ACL: "private" }))
    await alice.send(new PutObjectAclCommand({ Bucket: "alice-put-acl", Key: "doc", ACL: "bucket-owner-full-control" }))
    await alice.send(new PutBucketAclCommand({ Bucket: "alice-put-acl", GrantFullControl: 'id="alice"' }))
    await alice.send(new PutBucketAclCommand({ Bucket: "alice-put-acl", AccessControlPolicy: ownerOnly("alice") }))
    await alice.send(new PutObjectAclCommand({ Bucket: "alice-put-acl", Key: "doc", AccessControlPolicy: ownerOnly("alice") }))
    // The admin may set it too, and the owner stays alice.
    await admin.send(new PutBucketAclCommand({ Bucket: "alice-put-acl", AccessControlPolicy: ownerOnly("alice") }))
    expect((await alice.send(new GetBucketAclCommand({ Bucket: "alice-put-acl" }))).Grants).toEqual(ownerOnly("alice").Grants)
    expect(await failure(alice.send(new PutObjectAclCommand({ Bucket: "alice-put-acl", Key: "missing", ACL: "private" })))).toEqual(["NoSuchKey", 404])
    expect(await failure(bob.send(new PutBucketAclCommand({ Bucket: "alice-put-acl", ACL: "private" })))).toEqual(["AccessDenied", 403])
  })

  it("refuses public and shared ACLs with AccessDenied, whatever form they take, and changes nothing", async () => {
    await alice.send(new CreateBucketCommand({ Bucket: "alice-refuse" }))
    await alice.send(new PutObjectCommand({ Bucket: "alice-refuse", Key: "doc", Body: "secret" }))
    const denied = ["AccessDenied", 403]
    expect(await failure(alice.send(new PutBucketAclCommand({ Bucket: "alice-refuse", ACL: "public-read" })))).toEqual(denied)
    expect(await failure(alice.send(new PutObjectAclCommand({ Bucket: "alice-refuse", Key: "doc", ACL: "authenticated-read" })))).toEqual(denied)
    expect(await failure(alice.send(new PutBucketAclCommand({ Bucket: "alice-refuse", GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' })))).toEqual(denied)
    const shared = { ...ownerOnly("alice"), Grants: [...ownerOnly("alice").Grants, { Grantee: { Type: "CanonicalUser", ID: "bob" }, Permission: "READ" } satisfies Grant] }
    expect(await failure(alice.send(new PutObjectAclCommand({ Bucket: "alice-refuse", Key: "doc", AccessControlPolicy: shared })))).toEqual(denied)
    expect(await failure(alice.send(new PutObjectAclCommand({ Bucket: "alice-refuse", Key: "doc", AccessControlPolicy: ownerOnly("bob") })))).toEqual(denied)
    expect(await failure(alice.send(new PutBucketAclCommand({ Bucket: "alice-refuse", ACL: "not-a-canned-acl" as "private" })))).toEqual(["InvalidArgument", 400])
    // Still private: bob cannot read, and the ACL is unchanged.
    expect(await failure(bob.send(new GetObjectCommand({ Bucket: "alice-refuse", Key: "doc" })))).toEqual(denied)
    expect((await alice.send(new GetObjectAclCommand({ Bucket: "alice-refuse", Key: "doc" }))).Grants).toEqual(ownerOnly("alice").Grants)
  })

  it("x-amz-acl on CreateBucket, PutObject, CopyObject and CreateMultipartUpload: private is accepted, public-read refused before anything is written", async () => {
    const denied = ["AccessDenied", 403]
    await alice.send(new CreateBucketCommand({ Bucket: "alice-canned", ACL: "private" }))
    expect(await failure(alice.send(new CreateBucketCommand({ Bucket: "alice-public", ACL: "public-read" })))).toEqual(denied)
    expect(await failure(alice.send(new GetBucketAclCommand({ Bucket: "alice-public" })))).toEqual(["NoSuchBucket", 404])

    await alice.send(new PutObjectCommand({ Bucket: "alice-canned", Key: "a", Body: "a", ACL: "private" }))
    expect(await failure(alice.send(new PutObjectCommand({ Bucket: "alice-canned", Key: "b", Body: "b", ACL: "public-read" })))).toEqual(denied)
    expect(await failure(alice.send(new HeadObjectCommand({ Bucket: "alice-canned", Key: "b" })))).toEqual(["NotFound", 404])

    await alice.send(new CopyObjectCommand({ Bucket: "alice-canned", Key: "c", CopySource: "alice-canned/a", ACL: "bucket-owner-full-control" }))
    expect(await failure(alice.send(new CopyObjectCommand({ Bucket: "alice-canned", Key: "d", CopySource: "alice-canned/a", ACL: "public-read-write" })))).toEqual(denied)
    expect(await failure(alice.send(new HeadObjectCommand({ Bucket: "alice-canned", Key: "d" })))).toEqual(["NotFound", 404])

    const upload = await alice.send(new CreateMultipartUploadCommand({ Bucket: "alice-canned", Key: "m", ACL: "private" }))
    await alice.send(new AbortMultipartUploadCommand({ Bucket: "alice-canned", Key: "m", UploadId: upload.UploadId }))
    expect(await failure(alice.send(new CreateMultipartUploadCommand({ Bucket: "alice-canned", Key: "m", GrantRead: 'id="bob"' })))).toEqual(denied)
  })
})
