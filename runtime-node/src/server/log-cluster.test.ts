/**
 * The streaming log in `cairn server` on a real 3-node cluster of
 * processes (each in its own process group, stopped by its id): a topic
 * created with `cairn log`, records produced through every node and read
 * back through the others with consecutive offsets, each partition's
 * replicas on every node's disk under `<dataDir>/log`; a node SIGKILLed
 * while producing goes on (every partition still has a majority), and once
 * restarted it serves every acknowledged record in order; consumer group
 * offsets committed on one node and read on another; a raw batch with a
 * producer id from the API sent twice and appended once; any user producing,
 * only the admin creating topics; `cairn log produce` from stdin and
 * `consume --from-beginning`; bad input refused with exit 2 and the rule, a
 * refusal with exit 1 and the fix, never a stack trace. A node started with
 * `--no-log` runs none of it and says so.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { RECORD_BATCH_CONTENT_TYPE } from "@cairn/core/kv-api/log-operations"
import { encodeBatch } from "@cairn/core/log/record-batch"
import { afterEach, describe, expect, it } from "vitest"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { apiUrl, authed, awaitLeader, awaitReady, killAllStarted, type NodeProcess, startNode, stopNode, TEST_CREDENTIALS } from "./cluster-processes.test-support.ts"
import { apiHeaders } from "./api-credentials.ts"
import { cliMain, clusterEnv, exited, type LocalCluster, type LocalNodeSpec, planCluster, serverArgs } from "./local-cluster.ts"

const dirs: Array<string> = []
const commands = new Set<ChildProcess>()

afterEach(async () => {
  for (const c of commands) {
    try {
      if (c.pid !== undefined) process.kill(-c.pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  await Promise.all([...commands].map(exited))
  commands.clear()
  await killAllStarted()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** Runs `cairn ARGS` in a process group of its own, `stdin` written to it; its exit code and output. */
const cairn = async (args: ReadonlyArray<string>, stdin = "") => {
  const child = spawn(process.execPath, [cliMain, ...args], {
    env: { ...process.env, CAIRN_ACCESS_KEY: TEST_CREDENTIALS.accessKey, CAIRN_SECRET_KEY: TEST_CREDENTIALS.secretKey },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true
  })
  commands.add(child)
  let out = ""
  let err = ""
  child.stdout.on("data", (d: Buffer) => (out += d.toString()))
  child.stderr.on("data", (d: Buffer) => (err += d.toString()))
  child.stdin.end(stdin)
  await exited(child)
  commands.delete(child)
  return { code: child.exitCode, out, err }
}

const makeCluster = async (): Promise<{ cluster: LocalCluster; logFile: string }> => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-log-cluster-"))
  dirs.push(dir)
  const cluster = planCluster({
    nodes: 3,
    dataRoot: dir,
    apiBase: 0,
    peerBase: 0,
    s3Base: 0,
    secret: "log-cluster-test-secret-0123456789",
    credentials: TEST_CREDENTIALS,
    ports: await freeLoopbackPorts(9)
  })
  return { cluster, logFile: join(dir, "cluster.log") }
}

const recordsPath = (node: LocalNodeSpec, topic: string, p: number) => `${apiUrl(node)}/v1/log/topics/${topic}/partitions/${p}/records`

/**
 * Produces `values` (unique) as one batch through `node`. A 503 (nothing appended: a partition electing a
 * leader) is retried. A 504 means it may have been appended (an attempt went to the node just killed, and its
 * proposal can still commit later): a JSON produce has no producer id, so the user's choice is to send again
 * and accept that the batch may then be stored twice (at least once). `ambiguous` says that happened; the
 * base offset is the acknowledged attempt's.
 */
const produce = async (node: LocalNodeSpec, topic: string, p: number, values: ReadonlyArray<string>): Promise<{ readonly baseOffset: number; readonly ambiguous: boolean }> => {
  let ambiguous = false
  for (;;) {
    const r = await authed(recordsPath(node, topic, p), { method: "POST", body: JSON.stringify({ records: values.map((value) => ({ value })) }) })
    const body = await r.json() as { baseOffset: number; lastOffset: number; error?: string }
    if (r.status === 503) continue
    if (r.status === 504) {
      ambiguous = true
      continue
    }
    expect(r.status, JSON.stringify(body)).toBe(200)
    expect(body.lastOffset - body.baseOffset).toBe(values.length - 1)
    return { baseOffset: body.baseOffset, ambiguous }
  }
}

/** The values read, with the later copies of batches sent again after a 504 left out (each batch's values are unique). */
const withoutResent = (read: ReadonlyArray<string>, resent: ReadonlySet<string>): Array<string> => {
  const seen = new Set<string>()
  return read.filter((v) => {
    if (!resent.has(v)) return true
    if (seen.has(v)) return false
    seen.add(v)
    return true
  })
}

/** Every record of the partition read through `node`, in order. */
const readAll = async (node: LocalNodeSpec, topic: string, p: number): Promise<Array<{ offset: number; value: string }>> => {
  const out: Array<{ offset: number; value: string }> = []
  let offset = 0
  for (;;) {
    const r = await authed(`${recordsPath(node, topic, p)}?offset=${offset}`)
    expect(r.status).toBe(200)
    const body = await r.json() as { records: Array<{ offset: number; value: string }>; nextOffset: number; highWatermark: number }
    out.push(...body.records.map((x) => ({ offset: x.offset, value: x.value })))
    offset = body.nextOffset
    if (offset >= body.highWatermark) return out
  }
}

describe("the streaming log in cairn server (3 processes)", () => {
  it("replicates partitions across nodes, survives a SIGKILLed node, keeps group offsets, and serves the cairn log CLI", async () => {
    const { cluster, logFile } = await makeCluster()
    const procs: Array<NodeProcess> = cluster.nodes.map((n) => startNode(cluster, n, logFile))
    await awaitLeader(cluster.nodes)
    for (const n of cluster.nodes) await awaitReady(n)
    const [n1, n2, n3] = cluster.nodes as [LocalNodeSpec, LocalNodeSpec, LocalNodeSpec]
    const endpoint = (n: LocalNodeSpec) => ["--endpoint", `127.0.0.1:${n.apiPort}`]

    const created = await cairn(["log", "topic", "create", "--topic", "events", "--partitions", "3", ...endpoint(n1)])
    expect(created.code, created.err).toBe(0)
    expect(JSON.parse(created.out)).toMatchObject({ name: "events", partitions: 3, replicationFactor: 3 })

    // Each partition through each node: offsets are consecutive from 0 whichever node took the batch.
    const expected: Array<Array<string>> = [[], [], []]
    for (let round = 0; round < 3; round++) {
      for (const [p, node] of [n1, n2, n3].entries()) {
        const values = Array.from({ length: 4 }, (_, i) => `p${p}-r${round}-${i}`)
        // All three nodes are up: nothing is ambiguous, and offsets follow on exactly.
        expect(await produce(node, "events", p, values)).toEqual({ baseOffset: expected[p]!.length, ambiguous: false })
        expected[p]!.push(...values)
      }
    }
    for (const n of cluster.nodes) expect(readdirSync(join(n.dataDir, "log")).length).toBe(3)

    // One node down: every partition keeps a majority, so produce goes on through the others.
    await stopNode(procs[2]!, "SIGKILL")
    const resent = new Set<string>()
    for (const p of [0, 1, 2]) {
      const values = [`p${p}-down-0`, `p${p}-down-1`]
      const produced = await produce(p % 2 === 0 ? n1 : n2, "events", p, values)
      expect(produced.baseOffset).toBeGreaterThanOrEqual(expected[p]!.length)
      if (produced.ambiguous) for (const v of values) resent.add(v)
      expected[p]!.push(...values)
    }
    procs[2] = startNode(cluster, n3, logFile)
    await awaitReady(n3)
    // Every acknowledged record, in order, at consecutive offsets; a batch sent again after a 504 may be there twice.
    for (const p of [0, 1, 2]) {
      const read = await readAll(n3, "events", p)
      expect(read.map((r) => r.offset)).toEqual(read.map((_, i) => i))
      expect(withoutResent(read.map((r) => r.value), resent)).toEqual(expected[p])
    }

    // Group offsets: committed through one node, read through another.
    const offsetUrl = (n: LocalNodeSpec) => `${apiUrl(n)}/v1/log/groups/billing/offsets/events/1`
    expect((await authed(offsetUrl(n2), { method: "PUT", body: JSON.stringify({ offset: 7, metadata: "m" }) })).status).toBe(200)
    expect(await (await authed(offsetUrl(n3))).json()).toMatchObject({ offset: 7, metadata: "m" })
    const fetched = await cairn(["log", "offsets", "fetch", "--group", "billing", "--topic", "events", "--partition", "1", ...endpoint(n1)])
    expect(JSON.parse(fetched.out)).toMatchObject({ offset: 7 })

    // The CLI: lines from stdin through n2, read back through n3.
    const produced = await cairn(["log", "produce", "--topic", "events", "--partition", "2", ...endpoint(n2)], "alpha\nbeta\ngamma\n")
    expect(produced.code, produced.err).toBe(0)
    expect(produced.err).toContain(`at offsets ${expected[2]!.length}..${expected[2]!.length + 2}`)
    const consumed = await cairn(["log", "consume", "--topic", "events", "--partition", "2", "--from-beginning", ...endpoint(n3)])
    expect(consumed.code, consumed.err).toBe(0)
    expect(consumed.out.trim().split("\n")).toEqual([...expected[2]!, "alpha", "beta", "gamma"])

    // Any user may produce and consume; topics are the admin's.
    const alice = await (await authed(`${apiUrl(n1)}/v1/admin/s3/users`, { method: "POST", body: JSON.stringify({ user: "alice" }) })).json() as { accessKey: string; secretKey: string }
    const asAlice = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: apiHeaders(alice) })
    expect((await asAlice(`${apiUrl(n2)}/v1/log/topics`, { method: "POST", body: JSON.stringify({ name: "mine", partitions: 1 }) })).status).toBe(403)
    expect((await asAlice(recordsPath(n2, "events", 0), { method: "POST", body: JSON.stringify({ records: [{ value: "from alice" }] }) })).status).toBe(200)

    // A raw batch with a producer id from the API: sent twice (as after a 504), appended once.
    const producer = await (await authed(`${apiUrl(n1)}/v1/log/producers`, { method: "POST", body: "{}" })).json() as { producerId: number; epoch: number }
    const batch = encodeBatch({
      baseTimestamp: 1,
      producerId: producer.producerId,
      producerEpoch: producer.epoch,
      baseSequence: 0,
      records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: new TextEncoder().encode("once"), headers: [] }]
    })
    const sendRaw = async (node: LocalNodeSpec) =>
      await (await authed(recordsPath(node, "events", 1), { method: "POST", body: batch, headers: { "content-type": RECORD_BATCH_CONTENT_TYPE } })).json() as { baseOffset: number; duplicate: boolean }
    const firstSend = await sendRaw(n1)
    expect(firstSend.duplicate).toBe(false)
    expect(await sendRaw(n3)).toEqual({ ...firstSend, duplicate: true })
    expect((await readAll(n2, "events", 1)).filter((r) => r.value === "once").length).toBe(1)

    // Bad input: exit 2 and the rule; a refusal: exit 1 and the fix; never a stack trace.
    const badPartition = await cairn(["log", "consume", "--topic", "events", "--partition", "two", "--from-beginning", ...endpoint(n1)])
    expect([badPartition.code, badPartition.err]).toEqual([2, expect.stringContaining("--partition \"two\": expected a whole number")])
    const unknown = await cairn(["log", "produce", "--topic", "nope", "--value", "x", ...endpoint(n1)])
    expect(unknown.code).toBe(1)
    expect(unknown.err).toContain("fix: create it: cairn log topic create --topic nope")
    for (const r of [badPartition, unknown]) expect(r.err).not.toMatch(/^\s+at /m)
  }, 180_000)

  it("runs no log with --no-log: no log folder, /v1/log answers 501 log-disabled, and cairn log says how to fix it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-no-log-"))
    dirs.push(dir)
    const cluster = planCluster({ nodes: 1, dataRoot: dir, apiBase: 0, peerBase: 0, s3Base: 0, secret: "no-log-test-secret-0123456789", credentials: TEST_CREDENTIALS, ports: await freeLoopbackPorts(3) })
    const node = cluster.nodes[0]!
    const server = spawn(process.execPath, [cliMain, ...serverArgs(cluster, node, ["--no-log", "--console-listen", "127.0.0.1:0"])], {
      env: { ...process.env, ...clusterEnv(cluster) },
      stdio: "ignore",
      detached: true
    })
    commands.add(server)
    await awaitReady(node)
    const r = await authed(`${apiUrl(node)}/v1/log/topics`)
    expect([r.status, (await r.json() as { error: string }).error]).toEqual([501, "log-disabled"])
    expect(existsSync(join(node.dataDir, "raft"))).toBe(true)
    expect(existsSync(join(node.dataDir, "log"))).toBe(false)
    const listed = await cairn(["log", "topic", "list", "--endpoint", `127.0.0.1:${node.apiPort}`])
    expect(listed.code).toBe(1)
    expect(listed.err).toContain("fix: the node was started with --no-log")
  }, 60_000)
})
