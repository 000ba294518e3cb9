/**
 * `cairn admin backup` and `restore` on a real 3-node cluster of `cairn
 * server` processes, testing exactly what docs/backup.md promises: objects
 * (inline, erasure-coded, multipart, versioned), buckets and KV keys are
 * written, the metadata is backed up, the cluster is stopped and its
 * metadata (each node's `raft/`: WAL, hard state, snapshots) wiped while
 * its shard stores are kept, a fresh cluster with the same node ids starts
 * on them (and knows no bucket), the backup is restored, and every object
 * reads back byte-identical. A second restore changes nothing; a restore
 * over a key holding another value writes nothing; a damaged or newer file
 * is refused before anything is sent.
 */
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand
} from "@aws-sdk/client-s3"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import {
  apiUrl,
  authed,
  awaitLeader,
  awaitReady,
  killAllStarted,
  type NodeProcess,
  startNode,
  stopNode,
  TEST_CREDENTIALS
} from "../server/cluster-processes.test-support.ts"
import { decodeBackup } from "./backup-file.ts"
import { CLUSTER_RECORD_PREFIX, WORKER_CURSOR_PREFIX } from "./backup-routes.ts"
import { exited, type LocalCluster, type LocalNodeSpec, planCluster, spawnCairn } from "../server/local-cluster.ts"

const dirs: Array<string> = []
afterEach(async () => {
  await killAllStarted()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const s3 = (node: LocalNodeSpec) =>
  new S3Client({
    endpoint: `http://127.0.0.1:${node.s3Port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: TEST_CREDENTIALS.accessKey, secretAccessKey: TEST_CREDENTIALS.secretKey }
  })

/** Runs `cairn ARGS` to its exit against the cluster; its exit code, stdout and stderr lines. */
const cairn = async (args: ReadonlyArray<string>) => {
  const out: Array<string> = []
  const err: Array<string> = []
  const child = spawnCairn(args, { CAIRN_ACCESS_KEY: TEST_CREDENTIALS.accessKey, CAIRN_SECRET_KEY: TEST_CREDENTIALS.secretKey }, (line, stream) => (stream === "stdout" ? out : err).push(line))
  await exited(child)
  return { code: child.exitCode, out, err }
}

const startAll = async (cluster: LocalCluster, logFile: string): Promise<Array<NodeProcess>> => {
  const procs = cluster.nodes.map((n) => startNode(cluster, n, logFile))
  await awaitLeader(cluster.nodes)
  for (const n of cluster.nodes) await awaitReady(n)
  return procs
}

const bodyOf = async (client: S3Client, bucket: string, key: string, versionId?: string): Promise<Uint8Array> => {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId === undefined ? {} : { VersionId: versionId }) }))
  return r.Body!.transformToByteArray()
}

interface Written {
  readonly bucket: string
  readonly key: string
  readonly versionId?: string
  readonly body: Uint8Array
}

/** Buckets, objects of every body kind, a multipart object and two versions of one key. */
const writeObjects = async (client: S3Client): Promise<Array<Written>> => {
  const written: Array<Written> = []
  await client.send(new CreateBucketCommand({ Bucket: "photos" }))
  await client.send(new CreateBucketCommand({ Bucket: "history" }))
  for (const [i, size] of [0, 1, 100, 4_000, 70_000, 300_000, 1_500_000].entries()) {
    const body = new Uint8Array(randomBytes(size))
    await client.send(new PutObjectCommand({ Bucket: "photos", Key: `dir/object-${i}.bin`, Body: body }))
    written.push({ bucket: "photos", key: `dir/object-${i}.bin`, body })
  }
  const parts = [new Uint8Array(randomBytes(5 * 1024 * 1024)), new Uint8Array(randomBytes(123_457))]
  const upload = await client.send(new CreateMultipartUploadCommand({ Bucket: "photos", Key: "big/multipart.bin" }))
  const etags = []
  for (const [i, part] of parts.entries()) {
    const r = await client.send(new UploadPartCommand({ Bucket: "photos", Key: "big/multipart.bin", UploadId: upload.UploadId!, PartNumber: i + 1, Body: part }))
    etags.push({ ETag: r.ETag!, PartNumber: i + 1 })
  }
  await client.send(new CompleteMultipartUploadCommand({ Bucket: "photos", Key: "big/multipart.bin", UploadId: upload.UploadId!, MultipartUpload: { Parts: etags } }))
  written.push({ bucket: "photos", key: "big/multipart.bin", body: new Uint8Array([...parts[0]!, ...parts[1]!]) })
  await client.send(new PutBucketVersioningCommand({ Bucket: "history", VersioningConfiguration: { Status: "Enabled" } }))
  for (const size of [10, 90_000]) {
    const body = new Uint8Array(randomBytes(size))
    const r = await client.send(new PutObjectCommand({ Bucket: "history", Key: "doc.txt", Body: body }))
    written.push({ bucket: "history", key: "doc.txt", versionId: r.VersionId!, body })
  }
  return written
}

/** Removes each node's Raft state (WAL, hard state, snapshots): the metadata is gone, the shards stay. */
const wipeMetadata = (cluster: LocalCluster) => {
  for (const n of cluster.nodes) {
    rmSync(join(n.dataDir, "raft"), { recursive: true, force: true })
    expect(existsSync(join(n.dataDir, "shards"))).toBe(true)
  }
}

describe("cairn admin backup and restore", () => {
  it("restores the metadata into a fresh cluster on the surviving shard stores: every object reads back byte-identical", async () => {
    const root = mkdtempSync(join(tmpdir(), "cairn-backup-"))
    dirs.push(root)
    const cluster = planCluster({ nodes: 3, dataRoot: root, apiBase: 0, peerBase: 0, s3Base: 0, secret: "backup-test-secret-0123456789", credentials: TEST_CREDENTIALS, ports: await freeLoopbackPorts(9) })
    const logFile = join(root, "cluster.log")
    const [n1, n2, n3] = cluster.nodes as [LocalNodeSpec, LocalNodeSpec, LocalNodeSpec]
    let procs = await startAll(cluster, logFile)
    const written = await writeObjects(s3(n1))
    expect((await authed(`${apiUrl(n2)}/v1/kv/settings`, { method: "PUT", body: "kv-value" })).status).toBe(200)

    const file = join(root, "metadata.cairnbak")
    const backup = await cairn(["admin", "backup", "--endpoint", apiUrl(n3), "--out", file])
    expect(backup.code, backup.err.join("\n")).toBe(0)
    const summary = JSON.parse(backup.out.join("")) as { keys: number; appliedIndex: number }
    expect(summary.keys).toBeGreaterThanOrEqual(written.length + 3) // objects, 2 buckets, the KV key (plus scheme, members)

    for (const p of procs) expect(await stopNode(p)).not.toBeNull()
    wipeMetadata(cluster)
    procs = await startAll(cluster, logFile)
    await expect(bodyOf(s3(n1), "photos", "dir/object-1.bin")).rejects.toMatchObject({ name: "NoSuchBucket" })

    const restored = await cairn(["admin", "restore", "--endpoint", apiUrl(n2), "--from", file])
    expect(restored.code, restored.err.join("\n")).toBe(0)
    console.log(`backup: ${backup.out.join("")}\nrestore: ${restored.out.join("")}`)
    const result = JSON.parse(restored.out.join("")) as { restored: number; unchanged: number; skippedClusterRecords: number }
    const inFile = decodeBackup(new Uint8Array(readFileSync(file)))
    if (!("entries" in inFile)) throw new Error(inFile.message)
    // The Kafka listeners' records at least (every node runs one); the fresh cluster's nodes publish their own.
    expect(result.skippedClusterRecords).toBe(inFile.entries.filter((e) => e.key.startsWith(CLUSTER_RECORD_PREFIX) || e.key.startsWith(WORKER_CURSOR_PREFIX)).length)
    expect(result.skippedClusterRecords).toBeGreaterThan(0)
    expect(result.restored + result.unchanged + result.skippedClusterRecords).toBe(summary.keys)

    for (const [i, w] of written.entries()) {
      const node = cluster.nodes[i % 3]!
      expect(Buffer.from(await bodyOf(s3(node), w.bucket, w.key, w.versionId)).equals(Buffer.from(w.body)), `${w.bucket}/${w.key} ${w.versionId ?? ""}`).toBe(true)
    }
    const versions = await s3(n3).send(new ListObjectVersionsCommand({ Bucket: "history" }))
    expect(versions.Versions?.map((v) => v.VersionId).sort()).toEqual(written.filter((w) => w.bucket === "history").map((w) => w.versionId).sort())
    expect(await (await authed(`${apiUrl(n3)}/v1/kv/settings`)).text()).toBe("kv-value")

    // Run again: nothing left to write. Then a key changed since: refused, nothing written.
    const again = await cairn(["admin", "restore", "--endpoint", apiUrl(n1), "--from", file])
    expect(again.code, again.err.join("\n")).toBe(0)
    expect(JSON.parse(again.out.join(""))).toMatchObject({ restored: 0, unchanged: result.restored + result.unchanged })
    await s3(n1).send(new PutObjectCommand({ Bucket: "photos", Key: "dir/object-2.bin", Body: "changed" }))
    const conflict = await cairn(["admin", "restore", "--endpoint", apiUrl(n1), "--from", file])
    expect([conflict.code, conflict.err]).toEqual([1, [expect.stringMatching(/^cairn admin: 409: refused, nothing written: 1 keys already hold other values \("\\u0000o\/photos\/dir\/object-2.bin"\)/)]])
    for (const p of procs) await stopNode(p)
  }, 180_000)

  it("refuses a damaged, truncated, newer or foreign file with one line and exit 2, before contacting any node", async () => {
    const root = mkdtempSync(join(tmpdir(), "cairn-backup-bad-"))
    dirs.push(root)
    const cluster = planCluster({ nodes: 1, dataRoot: root, apiBase: 0, peerBase: 0, s3Base: 0, secret: "backup-test-secret-0123456789", credentials: TEST_CREDENTIALS, ports: await freeLoopbackPorts(3) })
    const node = cluster.nodes[0]!
    const proc = startNode(cluster, node, join(root, "node.log"))
    await awaitReady(node)
    const file = join(root, "good.cairnbak")
    expect((await cairn(["admin", "backup", "--endpoint", apiUrl(node), "--out", file])).code).toBe(0)
    const good = new Uint8Array(readFileSync(file))
    // The node checks too, whoever sends the file; and only the admin may back up or restore.
    const damaged = good.slice(0, good.length - 1)
    const refused = await authed(`${apiUrl(node)}/v1/admin/restore`, { method: "POST", body: damaged })
    expect([refused.status, await refused.json()]).toEqual([400, { error: "bad-backup", message: expect.stringContaining("the backup file is damaged") }])
    expect((await fetch(`${apiUrl(node)}/v1/admin/backup`)).status).toBe(401)
    await stopNode(proc)
    const variants: Array<[string, Uint8Array, string]> = [
      ["flipped", good.map((b, i) => (i === Math.floor(good.length / 2) ? b ^ 0x10 : b)), "the backup file is damaged (checksum mismatch: truncated or altered); it cannot be restored"],
      ["truncated", good.slice(0, good.length - 9), "the backup file is damaged (checksum mismatch: truncated or altered); it cannot be restored"],
      ["newer", (() => {
        const b = good.slice()
        new DataView(b.buffer).setUint32(8, 2)
        return b
      })(), "the backup file is version 2, newer than this build reads (1): restore it with the Cairn release that wrote it, or a newer one"],
      ["foreign", new TextEncoder().encode("hello"), "not a Cairn backup file (it does not start with CAIRNBAK)"]
    ]
    for (const [name, bytes, message] of variants) {
      const path = join(root, `${name}.cairnbak`)
      writeFileSync(path, bytes)
      // The node is stopped: a refusal here was decided from the file alone.
      const r = await cairn(["admin", "restore", "--endpoint", apiUrl(node), "--from", path])
      expect([r.code, r.err], name).toEqual([2, [`cairn admin: ${path}: ${message}`]])
    }
  }, 60_000)
})
