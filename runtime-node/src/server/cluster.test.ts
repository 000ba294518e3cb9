/**
 * `cairn server` as separate processes on loopback: a 3-node cluster
 * (linearizable reads through any node, followers forward writes, the
 * leader SIGKILLed and every acknowledged write still served, a minority
 * node refusing linearizable reads with 503) and a single node SIGKILLed at
 * a random moment in a stream of writes, then restarted. Every test stops
 * the processes it started.
 */
import type { ChildProcess } from "node:child_process"
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand
} from "@aws-sdk/client-s3"
import { afterEach, describe, expect, it } from "vitest"
import { clusterEnv, exited, planCluster, serverArgs, spawnCairn, type LocalCluster, type LocalNodeSpec } from "./local-cluster.ts"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { apiHeaders } from "./api-credentials.ts"


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const running = new Set<ChildProcess>()
const dirs: Array<string> = []

afterEach(async () => {
  for (const child of running) child.kill("SIGKILL")
  await Promise.all([...running].map(exited))
  running.clear()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const makeCluster = async (nodes: number): Promise<{ cluster: LocalCluster; logFile: string }> => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-cluster-"))
  dirs.push(dir)
  const ports = await freeLoopbackPorts(nodes * 3)
  const cluster = planCluster({
    nodes,
    dataRoot: dir,
    apiBase: 0,
    peerBase: 0,
    s3Base: 0,
    secret: "test-cluster-secret-0123456789",
    credentials: CREDENTIALS,
    ports
  })
  return { cluster, logFile: join(dir, "cluster.log") }
}

/** Runs `cairn ARGS` to completion and returns its stdout (it fails the test on a non-zero exit). */
const cairnOutput = async (args: ReadonlyArray<string>, env: Record<string, string>): Promise<string> => {
  const out: Array<string> = []
  const err: Array<string> = []
  const child = spawnCairn(args, env, (line, stream) => (stream === "stdout" ? out : err).push(line))
  running.add(child)
  await exited(child)
  running.delete(child)
  expect(child.exitCode, err.join("\n")).toBe(0)
  return out.join("\n")
}

const start = (cluster: LocalCluster, node: LocalNodeSpec, logFile: string, extra: ReadonlyArray<string> = []): ChildProcess => {
  const child = spawnCairn(serverArgs(cluster, node, ["--request-timeout-ms", "2000", ...extra]), clusterEnv(cluster), (line) => appendFileSync(logFile, `[${node.id}] ${line}\n`))
  running.add(child)
  child.once("exit", () => running.delete(child))
  return child
}

const api = (node: LocalNodeSpec) => `http://127.0.0.1:${node.apiPort}`
const CREDENTIALS = { accessKey: "admin", secretKey: "admin-secret" }
/** fetch with the cluster's admin credentials (the KV API needs credentials). */
const authed = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: apiHeaders(CREDENTIALS, init.headers as Record<string, string> | undefined) })

interface Status {
  readonly id: string
  readonly role: string
  readonly leader: string | null
}
const status = async (node: LocalNodeSpec): Promise<Status | undefined> => {
  try {
    return await (await authed(`${api(node)}/v1/status`, { signal: AbortSignal.timeout(1000) })).json() as Status
  } catch {
    return undefined
  }
}

/** Waits (bounded by the test timeout, not by a clock assertion) until one of `nodes` is leader and all of them know it. */
const awaitLeader = async (nodes: ReadonlyArray<LocalNodeSpec>): Promise<LocalNodeSpec> => {
  for (;;) {
    const all = await Promise.all(nodes.map(status))
    const leaders = all.filter((s) => s?.role === "leader")
    if (leaders.length === 1 && all.every((s) => s?.leader === leaders[0]!.id)) return nodes.find((n) => n.id === leaders[0]!.id)!
    await sleep(100)
  }
}

const put = async (node: LocalNodeSpec, key: string, value: string): Promise<number> => {
  try {
    const r = await authed(`${api(node)}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(5000) })
    await r.arrayBuffer()
    return r.status
  } catch {
    return 0 // connection refused or reset: not acknowledged
  }
}

/** A linearizable read, retried while the cluster answers 503 (no leader yet). */
const getValue = async (node: LocalNodeSpec, key: string): Promise<string | undefined> => {
  for (;;) {
    const r = await authed(`${api(node)}/v1/kv/${key}`)
    if (r.status === 200) return r.text()
    if (r.status === 404) return undefined
    expect(r.status).toBe(503)
    await sleep(100)
  }
}

/** Writers that keep writing distinct keys to `targets`, recording the acknowledged ones. */
const writeStream = (targets: () => ReadonlyArray<LocalNodeSpec>, writers: number) => {
  const acked = new Map<string, string>()
  let stop = false
  let counter = 0
  const loops = Array.from({ length: writers }, async (_, w) => {
    while (!stop) {
      const key = `w${w}-${counter++}`
      const value = `value-${key}`
      const live = targets()
      const node = live[counter % live.length]!
      const s = await put(node, key, value)
      if (s === 200) acked.set(key, value)
      else if (s !== 0) expect([503, 504]).toContain(s)
      if (s !== 200) await sleep(20)
    }
  })
  return {
    acked,
    stop: async () => {
      stop = true
      await Promise.all(loops)
    }
  }
}

const s3Client = (node: LocalNodeSpec) =>
  new S3Client({
    endpoint: `http://127.0.0.1:${node.s3Port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "admin", secretAccessKey: "admin-secret" },
    maxAttempts: 1
  })

/** Retries while the cluster has no leader yet (503). */
const untilServed = async <A>(f: () => Promise<A>): Promise<A> => {
  for (let i = 0; ; i++) {
    try {
      return await f()
    } catch (e) {
      if (i > 100 || (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 503) throw e
      await sleep(100)
    }
  }
}

/**
 * A membership change through the admin endpoint, retried while it answers 409 "busy" (the change did not
 * commit within the request timeout, as on a loaded machine; the API says to retry). A retry that finds the
 * earlier attempt took effect after all (`done`, e.g. "already a member") counts as success: 200.
 */
const membershipChange = async (url: string, init: RequestInit, done: RegExp): Promise<number> => {
  let busy = false
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = await fetch(url, init)
    const text = await r.text()
    if (r.status !== 409) return busy && done.test(text) ? 200 : r.status
    busy = true
    await sleep(500)
  }
  return 409
}

describe("cairn server processes", () => {
  it("3 nodes over S3: an object written through one node is read through another, through a degraded stripe after a SIGKILL, and written degraded until repair restores it", async () => {
    const { cluster, logFile } = await makeCluster(3)
    const children = new Map(cluster.nodes.map((n) => [n.id, start(cluster, n, logFile)]))
    const leader = await awaitLeader(cluster.nodes)
    const [a, b, c] = cluster.nodes as [LocalNodeSpec, LocalNodeSpec, LocalNodeSpec]
    const big = new Uint8Array(2_500_000).map((_, i) => (i * 7919) % 251)
    await untilServed(() => s3Client(a).send(new CreateBucketCommand({ Bucket: "data" })))
    await untilServed(() => s3Client(a).send(new PutObjectCommand({ Bucket: "data", Key: "big.bin", Body: big })))
    await untilServed(() => s3Client(a).send(new PutObjectCommand({ Bucket: "data", Key: "small.txt", Body: "hello" })))
    const read = async (node: LocalNodeSpec, key: string) =>
      untilServed(async () => (await (await s3Client(node).send(new GetObjectCommand({ Bucket: "data", Key: key }))).Body!.transformToByteArray()))
    expect(Buffer.from(await read(b, "big.bin")).equals(Buffer.from(big))).toBe(true)
    expect(Buffer.from(await read(c, "small.txt")).toString()).toBe("hello")

    // 2+1 on three nodes: any one node's shards can go; the other two rebuild every stripe.
    const victim = cluster.nodes.find((n) => n.id !== leader.id)!
    children.get(victim.id)!.kill("SIGKILL")
    await exited(children.get(victim.id)!)
    const survivor = cluster.nodes.find((n) => n.id !== victim.id)!
    expect(Buffer.from(await read(survivor, "big.bin")).equals(Buffer.from(big))).toBe(true)
    const listed = await untilServed(() => s3Client(survivor).send(new ListObjectsV2Command({ Bucket: "data" })))
    expect(listed.Contents?.map((o) => o.Key)).toEqual(["big.bin", "small.txt"])

    // Degraded writes: with the victim down, puts still succeed (2 of 3 shards, the third recorded missing).
    const degraded = new Uint8Array(1_048_576).map((_, i) => (i * 31) % 253)
    await untilServed(() => s3Client(survivor).send(new PutObjectCommand({ Bucket: "data", Key: "degraded.bin", Body: degraded })))
    await untilServed(() => s3Client(survivor).send(new PutObjectCommand({ Bucket: "data", Key: "degraded-copy.bin", Body: degraded.subarray(0, 100_000) })))
    expect(Buffer.from(await read(survivor, "degraded.bin")).equals(Buffer.from(degraded))).toBe(true)

    // The victim returns: the leader's dirty-set sweep (every 10 s) writes its missing shards.
    children.set(victim.id, start(cluster, victim, logFile))
    await awaitLeader(cluster.nodes)
    const written = async () => {
      const leaderNow = await awaitLeader(cluster.nodes)
      const text = await (await authed(`${api(leaderNow)}/metrics`)).text()
      return Number(/^cairn_repair_degraded_records (\S+)$/m.exec(text)?.[1] ?? Number.NaN)
    }
    for (let i = 0; (await written()) !== 0; i++) {
      expect(i).toBeLessThan(120)
      await sleep(500)
    }
    // Proof the shards are really back: with the third node down instead, the degraded object still reads.
    const other = cluster.nodes.find((n) => n.id !== victim.id && n.id !== survivor.id)!
    children.get(other.id)!.kill("SIGKILL")
    await exited(children.get(other.id)!)
    expect(Buffer.from(await read(victim, "degraded.bin")).equals(Buffer.from(degraded))).toBe(true)
    expect(Buffer.from(await read(survivor, "degraded-copy.bin")).equals(Buffer.from(degraded.subarray(0, 100_000)))).toBe(true)
  }, 120_000)

  it("zones: 4 nodes in two zones with 2+1 put exactly one shard of every stripe in the zone of one node, and cluster list shows the zones", async () => {
    const { cluster, logFile } = await makeCluster(4)
    const zoneOf = (id: string) => (id === "n4" ? "rack-b" : "rack-a")
    for (const n of cluster.nodes) start(cluster, n, logFile, ["--ec", "2+1", "--zone", zoneOf(n.id)])
    await awaitLeader(cluster.nodes)
    const [a] = cluster.nodes as [LocalNodeSpec]
    const n4 = cluster.nodes.find((n) => n.id === "n4")!
    // The zone records are written through Raft and read back twice a second: wait until the list shows all four.
    let listed = ""
    for (let i = 0; !/^n4\s+voter\s+rack-b\s/m.test(listed) || !/^n1\s+voter\s+rack-a\s/m.test(listed); i++) {
      expect(i).toBeLessThan(100)
      await sleep(200)
      listed = await cairnOutput(["cluster", "list", "--endpoint", `127.0.0.1:${a.apiPort}`], { CAIRN_ACCESS_KEY: CREDENTIALS.accessKey, CAIRN_SECRET_KEY: CREDENTIALS.secretKey })
    }
    // 16 stripes of 2 × 256 KiB: placement fills the least-used zone first, so rack-b (n4 alone) holds one shard of each
    // (without zones n4 would hold one in about 3 stripes of 4: all 16 by chance once in 100 runs).
    const body = new Uint8Array(16 * 512 * 1024).map((_, i) => (i * 13) % 251)
    await untilServed(() => s3Client(a).send(new CreateBucketCommand({ Bucket: "zoned" })))
    await untilServed(() => s3Client(a).send(new PutObjectCommand({ Bucket: "zoned", Key: "k", Body: body })))
    const shardsOn = (node: LocalNodeSpec) => readdirSync(join(node.dataDir, "shards")).filter((f) => f.endsWith(".shard")).length
    expect(shardsOn(n4)).toBe(16)
    expect(cluster.nodes.filter((n) => n.id !== "n4").reduce((sum, n) => sum + shardsOn(n), 0)).toBe(32)
  }, 90_000)

  it("drain: a draining node gets no new shards, repair moves its shards to the others at once, and the catalog counts 0 shards on it", async () => {
    const { cluster, logFile } = await makeCluster(4)
    for (const n of cluster.nodes) start(cluster, n, logFile, ["--ec", "2+1"])
    const leader = await awaitLeader(cluster.nodes)
    const body = new Uint8Array(8 * 512 * 1024).map((_, i) => (i * 17) % 251)
    await untilServed(() => s3Client(leader).send(new CreateBucketCommand({ Bucket: "drained" })))
    await untilServed(() => s3Client(leader).send(new PutObjectCommand({ Bucket: "drained", Key: "before", Body: body })))
    const victim = cluster.nodes.find((n) => n.id !== leader.id)!
    const env = { CAIRN_ACCESS_KEY: CREDENTIALS.accessKey, CAIRN_SECRET_KEY: CREDENTIALS.secretKey }
    expect(JSON.parse(await cairnOutput(["cluster", "drain", "--id", victim.id, "--endpoint", `127.0.0.1:${leader.apiPort}`], env))).toEqual({ id: victim.id, draining: true })
    await untilServed(() => s3Client(leader).send(new PutObjectCommand({ Bucket: "drained", Key: "after", Body: body })))
    const listed = await cairnOutput(["cluster", "list", "--endpoint", `127.0.0.1:${leader.apiPort}`], env)
    expect(listed).toMatch(new RegExp(`^${victim.id}\\s+voter,draining\\s`, "m"))
    // The catalog census (cached up to 30 s per scrape) counts where the records place shards.
    const shardsOn = async () => {
      const text = await (await authed(`${api(leader)}/metrics`)).text()
      return Object.fromEntries([...text.matchAll(/^cairn_catalog_shards\{node="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]))
    }
    let counts: Record<string, number> = {}
    for (let i = 0; !(counts[victim.id] === undefined && Object.keys(counts).length === 3); i++) {
      expect(i).toBeLessThan(120)
      await sleep(500)
      counts = await shardsOn()
    }
    // Two objects of 8 stripes, 3 shards each, all on the three other nodes now.
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(2 * 8 * 3)
    const back = await untilServed(async () => (await (await s3Client(leader).send(new GetObjectCommand({ Bucket: "drained", Key: "before" }))).Body!.transformToByteArray()))
    expect(Buffer.from(back).equals(Buffer.from(body))).toBe(true)
  }, 120_000)

  it("rebalance: a node that rejoins the members (drain undone) receives its share of the stored shards, and cluster list shows the progress", async () => {
    const { cluster, logFile } = await makeCluster(4)
    for (const n of cluster.nodes) start(cluster, n, logFile, ["--ec", "2+1", "--capacity-weight", n.id === "n1" ? "2" : "1"])
    const leader = await awaitLeader(cluster.nodes)
    const env = { CAIRN_ACCESS_KEY: CREDENTIALS.accessKey, CAIRN_SECRET_KEY: CREDENTIALS.secretKey }
    const newcomer = cluster.nodes.find((n) => n.id !== leader.id)!
    // Out of the members placement sees, as a node not yet added would be.
    expect(JSON.parse(await cairnOutput(["cluster", "drain", "--id", newcomer.id, "--endpoint", `127.0.0.1:${leader.apiPort}`], env))).toEqual({ id: newcomer.id, draining: true })
    const body = new Uint8Array(16 * 512 * 1024).map((_, i) => (i * 31) % 251)
    await untilServed(() => s3Client(leader).send(new CreateBucketCommand({ Bucket: "grown" })))
    await untilServed(() => s3Client(leader).send(new PutObjectCommand({ Bucket: "grown", Key: "k", Body: body })))
    // The shard directory appears with the first shard.
    const shardsOn = (node: LocalNodeSpec) => (existsSync(join(node.dataDir, "shards")) ? readdirSync(join(node.dataDir, "shards")).filter((f) => f.endsWith(".shard")).length : 0)
    expect(shardsOn(newcomer)).toBe(0)
    expect(JSON.parse(await cairnOutput(["cluster", "drain", "--undo", "--id", newcomer.id, "--endpoint", `127.0.0.1:${leader.apiPort}`], env))).toEqual({ id: newcomer.id, draining: false })
    // The leader sees the new member list within 5 s and moves shards (16 stripes over 4 nodes: about 12 to it).
    const moved = async () => Number(/^cairn_rebalance_shards_moved_total (\S+)$/m.exec(await (await authed(`${api(leader)}/metrics`)).text())?.[1] ?? 0)
    for (let i = 0; shardsOn(newcomer) < 6 || (await moved()) < 6; i++) {
      expect(i).toBeLessThan(120)
      await sleep(500)
    }
    const listed = await cairnOutput(["cluster", "list", "--endpoint", `127.0.0.1:${leader.apiPort}`], env)
    expect(listed).toMatch(/^n1\s+voter\s+-\s+2\s/m)
    expect(listed).toMatch(/^rebalance: (moving|settling|done)[^\n]* [1-9]\d* shards moved/m)
    const back = await untilServed(async () => (await (await s3Client(newcomer).send(new GetObjectCommand({ Bucket: "grown", Key: "k" }))).Body!.transformToByteArray()))
    expect(Buffer.from(back).equals(Buffer.from(body))).toBe(true)
  }, 120_000)

  it("3 nodes over S3: multipart across nodes, copy, batch delete and versioning, each step through a different node", async () => {
    const { cluster, logFile } = await makeCluster(3)
    for (const n of cluster.nodes) start(cluster, n, logFile)
    await awaitLeader(cluster.nodes)
    const [a, b, c] = cluster.nodes as [LocalNodeSpec, LocalNodeSpec, LocalNodeSpec]
    const part = (i: number, size: number) => new Uint8Array(size).map((_, j) => (i * 31 + j) % 253)
    await untilServed(() => s3Client(a).send(new CreateBucketCommand({ Bucket: "multi" })))
    // Parts through every node; completed through another; read through a third.
    const upload = await untilServed(() => s3Client(a).send(new CreateMultipartUploadCommand({ Bucket: "multi", Key: "joined" })))
    const parts = [part(1, 5 << 20), part(2, 5 << 20), part(3, 1234)]
    const etags: Array<string> = []
    for (const [i, body] of parts.entries()) {
      const node = cluster.nodes[i % 3]!
      const r = await untilServed(() => s3Client(node).send(new UploadPartCommand({ Bucket: "multi", Key: "joined", UploadId: upload.UploadId!, PartNumber: i + 1, Body: body })))
      etags.push(r.ETag!)
    }
    const done = await untilServed(() => s3Client(b).send(new CompleteMultipartUploadCommand({
      Bucket: "multi",
      Key: "joined",
      UploadId: upload.UploadId!,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) }
    })))
    expect(done.ETag).toMatch(/-3"$/)
    const joined = Buffer.from(await (await s3Client(c).send(new GetObjectCommand({ Bucket: "multi", Key: "joined" }))).Body!.transformToByteArray())
    expect(joined.equals(Buffer.concat(parts))).toBe(true)
    // Copy through one node, delete both in one batch through another.
    await untilServed(() => s3Client(c).send(new CopyObjectCommand({ Bucket: "multi", Key: "copy", CopySource: "multi/joined" })))
    const copy = Buffer.from(await (await s3Client(a).send(new GetObjectCommand({ Bucket: "multi", Key: "copy" }))).Body!.transformToByteArray())
    expect(copy.equals(joined)).toBe(true)
    const deleted = await untilServed(() => s3Client(b).send(new DeleteObjectsCommand({ Bucket: "multi", Delete: { Objects: [{ Key: "joined" }, { Key: "copy" }] } })))
    expect(deleted.Deleted?.map((d) => d.Key).sort()).toEqual(["copy", "joined"])
    // Versioning: enabled through one node, overwrites through two others, the old version read back.
    await untilServed(() => s3Client(a).send(new PutBucketVersioningCommand({ Bucket: "multi", VersioningConfiguration: { Status: "Enabled" } })))
    const v1 = await untilServed(() => s3Client(b).send(new PutObjectCommand({ Bucket: "multi", Key: "doc", Body: "first" })))
    await untilServed(() => s3Client(c).send(new PutObjectCommand({ Bucket: "multi", Key: "doc", Body: "second" })))
    const old = await (await s3Client(a).send(new GetObjectCommand({ Bucket: "multi", Key: "doc", VersionId: v1.VersionId! }))).Body!.transformToString()
    const now = await (await s3Client(b).send(new GetObjectCommand({ Bucket: "multi", Key: "doc" }))).Body!.transformToString()
    const versions = await untilServed(() => s3Client(c).send(new ListObjectVersionsCommand({ Bucket: "multi", Prefix: "doc" })))
    expect([old, now]).toEqual(["first", "second"])
    expect(versions.Versions?.length).toBe(2)
  }, 90_000)

  it("3 nodes: reads through another node see the write, followers forward, a SIGKILLed leader loses no acknowledged write", async () => {
    const { cluster, logFile } = await makeCluster(3)
    const children = new Map(cluster.nodes.map((n) => [n.id, start(cluster, n, logFile)]))
    const leader = await awaitLeader(cluster.nodes)
    const followers = cluster.nodes.filter((n) => n.id !== leader.id)

    // A write through one node is read (linearizably) through the others.
    expect(await put(followers[0]!, "shared", "from-a-follower")).toBe(200)
    expect(await getValue(followers[1]!, "shared")).toBe("from-a-follower")
    expect(await getValue(leader, "shared")).toBe("from-a-follower")

    // Writes keep flowing to every node while the leader is SIGKILLed.
    let live: ReadonlyArray<LocalNodeSpec> = cluster.nodes
    const stream = writeStream(() => live, 4)
    while (stream.acked.size < 30) await sleep(20)
    children.get(leader.id)!.kill("SIGKILL")
    await exited(children.get(leader.id)!)
    live = followers
    const newLeader = await awaitLeader(followers)
    expect(newLeader.id).not.toBe(leader.id)
    const before = stream.acked.size
    while (stream.acked.size < before + 20) await sleep(20)
    await stream.stop()

    for (const node of followers) {
      for (const [key, value] of stream.acked) expect([node.id, key, await getValue(node, key)]).toEqual([node.id, key, value])
    }
    expect(await getValue(followers[0]!, "shared")).toBe("from-a-follower")

    // Alone, a node refuses linearizable reads (503 with what it knows) but serves serializable ones.
    const other = followers.find((n) => n.id !== newLeader.id)!
    children.get(newLeader.id)!.kill("SIGKILL")
    await exited(children.get(newLeader.id)!)
    const r = await authed(`${api(other)}/v1/kv/shared`)
    expect(r.status).toBe(503)
    expect(await r.json()).toMatchObject({ error: expect.stringMatching(/leader/) })
    const s = await authed(`${api(other)}/v1/kv/shared?consistency=serializable`)
    expect(s.status).toBe(200)
    expect(await s.text()).toBe("from-a-follower")
  }, 60_000)

  it("a joining node answers 503 until it is added; the admin endpoint adds and removes it, and followers point at the leader", async () => {
    const { cluster, logFile } = await makeCluster(1)
    const [n1] = cluster.nodes
    start(cluster, n1!, logFile)
    await awaitLeader([n1!])
    // n2 joins (not a voter, never campaigns): until it is added it knows no leader.
    const [p1, p2, p3] = await freeLoopbackPorts(3)
    const n2: LocalNodeSpec = { id: "n2", dataDir: join(dirs[dirs.length - 1]!, "n2"), apiPort: p1!, peerPort: p2!, s3Port: p3! }
    const joined: LocalCluster = { ...cluster, nodes: [n1!, n2], peers: `${cluster.peers},n2=127.0.0.1:${n2.peerPort}`, apiPeers: `${cluster.apiPeers},n2=127.0.0.1:${n2.apiPort}` }
    const child = spawnCairn(serverArgs(joined, n2, ["--join", "--request-timeout-ms", "1000"]), clusterEnv(cluster), (line) => appendFileSync(logFile, `[n2] ${line}\n`))
    running.add(child)
    for (;;) if ((await status(n2)) !== undefined) break
    const refused = await authed(`${api(n2)}/v1/kv/x`, { method: "PUT", body: "v" })
    expect(refused.status).toBe(503)
    expect(await refused.json()).toMatchObject({ error: "no-leader" })
    expect((await fetch(`${api(n2)}/ready`)).status).toBe(503)

    // Adding it through the admin endpoint (on the leader) makes it a member that serves reads.
    const auth = `Basic ${Buffer.from("admin:admin-secret").toString("base64")}`
    const added = await membershipChange(`${api(n1!)}/v1/admin/members`, {
      method: "POST",
      headers: { authorization: auth },
      body: JSON.stringify({ id: "n2", peerAddress: `127.0.0.1:${n2.peerPort}`, apiAddress: `127.0.0.1:${n2.apiPort}` })
    }, /already a member/)
    expect(added).toBe(200)
    expect(await put(n1!, "after-join", "yes")).toBe(200)
    expect(await getValue(n2, "after-join")).toBe("yes")
    const leaderHint = await fetch(`${api(n2)}/v1/admin/members`, { method: "POST", headers: { authorization: auth }, body: "{}" })
    expect(leaderHint.status).toBe(503)
    expect(leaderHint.headers.get("x-cairn-leader")).toBe("n1")
    expect(leaderHint.headers.get("x-cairn-leader-api")).toBe(`127.0.0.1:${n1!.apiPort}`)
    const members = async () => ((await (await fetch(`${api(n1!)}/v1/admin/members`, { headers: { authorization: auth } })).json()) as { members: Array<{ id: string }> }).members.map((m) => m.id)
    expect(await members()).toEqual(["n1", "n2"])
    // `cairn cluster list` asks every member for its status: both answer, n1 leads, n2 has caught up.
    const listed = JSON.parse(await cairnOutput(["cluster", "list", "--json", "--endpoint", `127.0.0.1:${n2.apiPort}`], clusterEnv(cluster))) as {
      members: Array<{ id: string; raftRole: string; health: string; lag: number }>
    }
    expect(listed.members.map((m) => [m.id, m.raftRole, m.health])).toEqual([["n1", "leader", "healthy"], ["n2", "follower", "healthy"]])
    expect(listed.members.every((m) => m.lag >= 0 && m.lag < 1000)).toBe(true)

    // Removing it: the leader carries on alone, and the member list says so.
    const removed = await membershipChange(`${api(n1!)}/v1/admin/members/n2`, { method: "DELETE", headers: { authorization: auth } }, /unknown member/)
    expect(removed).toBe(200)
    expect(await members()).toEqual(["n1"])
    expect(await put(n1!, "after-remove", "yes")).toBe(200)
    expect((await fetch(`${api(n1!)}/v1/admin/members/n9`, { method: "DELETE", headers: { authorization: auth } })).status).toBe(404)
  }, 60_000)

  it("a learner added through the admin endpoint is promoted to voter: the member list and the Raft configuration both say so", async () => {
    const { cluster, logFile } = await makeCluster(1)
    const [n1] = cluster.nodes
    start(cluster, n1!, logFile)
    await awaitLeader([n1!])
    const [p1, p2, p3] = await freeLoopbackPorts(3)
    const n2: LocalNodeSpec = { id: "n2", dataDir: join(dirs[dirs.length - 1]!, "n2"), apiPort: p1!, peerPort: p2!, s3Port: p3! }
    const joined: LocalCluster = { ...cluster, nodes: [n1!, n2], peers: `${cluster.peers},n2=127.0.0.1:${n2.peerPort}`, apiPeers: `${cluster.apiPeers},n2=127.0.0.1:${n2.apiPort}` }
    const child = spawnCairn(serverArgs(joined, n2, ["--join", "--request-timeout-ms", "1000"]), clusterEnv(cluster), (line) => appendFileSync(logFile, `[n2] ${line}\n`))
    running.add(child)
    for (;;) if ((await status(n2)) !== undefined) break
    const auth = `Basic ${Buffer.from("admin:admin-secret").toString("base64")}`
    const roles = async () =>
      ((await (await fetch(`${api(n1!)}/v1/admin/members`, { headers: { authorization: auth } })).json()) as { members: Array<{ id: string; role: string }> }).members.map((m) => [m.id, m.role])
    const added = await membershipChange(`${api(n1!)}/v1/admin/members`, {
      method: "POST",
      headers: { authorization: auth },
      body: JSON.stringify({ id: "n2", peerAddress: `127.0.0.1:${n2.peerPort}`, apiAddress: `127.0.0.1:${n2.apiPort}`, learner: true })
    }, /already a member/)
    expect(added).toBe(200)
    expect(await roles()).toEqual([["n1", "voter"], ["n2", "learner"]])
    // A learner replicates: it reads the leader's write.
    expect(await put(n1!, "before-promote", "yes")).toBe(200)
    expect(await getValue(n2, "before-promote")).toBe("yes")
    // Through `cairn cluster promote`, as an operator would (it follows leader hints and retries a busy leader).
    const promoted = JSON.parse(await cairnOutput(["cluster", "promote", "--id", "n2", "--endpoint", `127.0.0.1:${n1!.apiPort}`], clusterEnv(cluster))) as unknown
    expect(promoted).toEqual({ promoted: "n2", role: "voter" })
    expect(await roles()).toEqual([["n1", "voter"], ["n2", "voter"]])
    // Promoting a voter again is refused with the reason; an unknown member is 404.
    const again = await fetch(`${api(n1!)}/v1/admin/members/n2/promote`, { method: "POST", headers: { authorization: auth } })
    expect([again.status, ((await again.json()) as { message: string }).message]).toEqual([400, "n2 is not a learner: it is already a voter"])
    expect((await fetch(`${api(n1!)}/v1/admin/members/n9/promote`, { method: "POST", headers: { authorization: auth } })).status).toBe(404)
    // Now a voter, n2 is needed for a majority of two: with it stopped, n1 alone commits nothing.
    expect(await put(n1!, "after-promote", "yes")).toBe(200)
    expect(await getValue(n2, "after-promote")).toBe("yes")
    child.kill("SIGKILL")
    await exited(child)
    running.delete(child)
    expect(await put(n1!, "without-n2", "no")).not.toBe(200)
  }, 60_000)

  it("single node: SIGKILL at a random moment during acknowledged writes, restart, every acknowledged write is there", async () => {
    const { cluster, logFile } = await makeCluster(1)
    const node = cluster.nodes[0]!
    const child = start(cluster, node, logFile)
    await awaitLeader([node])
    const stream = writeStream(() => [node], 8)
    const killAfter = 20 + Math.floor(Math.random() * 200)
    while (stream.acked.size < killAfter) await sleep(5)
    child.kill("SIGKILL")
    await exited(child)
    await stream.stop()
    expect(stream.acked.size).toBeGreaterThanOrEqual(killAfter)

    start(cluster, node, logFile)
    await awaitLeader([node])
    const listed = new Map<string, string>()
    let start_ = ""
    for (;;) {
      const page = await (await authed(`${api(node)}/v1/kv?limit=1000&encoding=utf8&start=${encodeURIComponent(start_)}`)).json() as {
        items: Array<{ key: string; value: string }>
        next: string | null
      }
      for (const item of page.items) listed.set(item.key, item.value)
      if (page.next === null) break
      start_ = page.next
    }
    const missing = [...stream.acked].filter(([k, v]) => listed.get(k) !== v)
    expect(missing).toEqual([])
  }, 60_000)
})
