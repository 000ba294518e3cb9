/**
 * Mutual TLS between `cairn server` processes: three nodes whose every peer
 * connection passes through a recording TCP relay (each node's `--peers`
 * entry is its relay, `--peer-listen` the real port). Over mTLS the cluster
 * elects a leader and commits writes, and a value written never crosses the
 * peer network in plaintext; the same cluster without TLS does show it, so
 * the check can fail. A peer presenting a certificate from another CA, or
 * none, is refused and the refusal is in the node's log.
 */
import type { ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createConnection, createServer, type Server, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect as tlsConnect } from "node:tls"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { type CertFiles, makeTestPki, type TestPki } from "../network/test-certs.test-support.ts"
import { apiHeaders } from "./api-credentials.ts"
import { clusterEnv, exited, type LocalCluster, type LocalNodeSpec, planCluster, serverArgs, spawnCairn } from "./local-cluster.ts"

const CREDENTIALS = { accessKey: "admin", secretKey: "admin-secret" }
const running = new Set<ChildProcess>()
const relays: Array<Server> = []
const dirs: Array<string> = []
let pki: TestPki & { readonly rogue: CertFiles }

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-pki-"))
  dirs.push(dir)
  pki = makeTestPki(dir, ["n1", "n2", "n3"])
})
afterEach(async () => {
  for (const child of running) child.kill("SIGKILL")
  await Promise.all([...running].map(exited))
  running.clear()
  for (const relay of relays.splice(0)) await new Promise((r) => relay.close(r))
})
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A TCP relay on `port` to `target` that records every byte passing either way. */
const startRelay = async (port: number, target: number, recorded: Array<Buffer>): Promise<void> => {
  const server = createServer((client: Socket) => {
    const upstream = createConnection({ host: "127.0.0.1", port: target })
    const pipe = (from: Socket, to: Socket) => {
      from.on("data", (chunk: Buffer) => {
        recorded.push(chunk)
        to.write(chunk)
      })
      from.on("close", () => to.destroy())
      from.on("error", () => to.destroy())
    }
    pipe(client, upstream)
    pipe(upstream, client)
  })
  server.on("connection", (s) => server.once("close", () => s.destroy()))
  relays.push(server)
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()))
}

interface Running {
  readonly cluster: LocalCluster
  readonly recorded: Array<Buffer>
  readonly logs: Array<string>
}

/** Three servers whose peer connections all go through relays; with `tls`, over mutual TLS. */
const startCluster = async (tls: boolean): Promise<Running> => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-peer-tls-cluster-"))
  dirs.push(dir)
  const ports = await freeLoopbackPorts(12)
  const cluster = planCluster({ nodes: 3, dataRoot: dir, apiBase: 0, peerBase: 0, s3Base: 0, secret: "test-cluster-secret-0123456789", credentials: CREDENTIALS, ports: ports.slice(0, 9) })
  const relayPorts = ports.slice(9)
  const recorded: Array<Buffer> = []
  for (const [i, node] of cluster.nodes.entries()) await startRelay(relayPorts[i]!, node.peerPort, recorded)
  const relayed: LocalCluster = { ...cluster, peers: cluster.nodes.map((n, i) => `${n.id}=127.0.0.1:${relayPorts[i]}`).join(",") }
  const logs: Array<string> = []
  for (const node of cluster.nodes) {
    const files = pki.nodes[node.id]!
    const extra = ["--peer-listen", `127.0.0.1:${node.peerPort}`, "--request-timeout-ms", "2000"]
    if (tls) extra.push("--peer-tls-cert", files.cert, "--peer-tls-key", files.key, "--peer-tls-ca", pki.ca)
    const child = spawnCairn(serverArgs(relayed, node, extra), clusterEnv(cluster), (line) => logs.push(`[${node.id}] ${line}`))
    running.add(child)
    child.once("exit", () => running.delete(child))
  }
  return { cluster, recorded, logs }
}

const api = (node: LocalNodeSpec, path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${node.apiPort}${path}`, { ...init, headers: apiHeaders(CREDENTIALS), signal: AbortSignal.timeout(5000) })

/** Waits (bounded by the test timeout) until all three name the same leader. */
const awaitLeader = async (nodes: ReadonlyArray<LocalNodeSpec>): Promise<string> => {
  for (;;) {
    const leaders = await Promise.all(nodes.map(async (n) => {
      try {
        return ((await (await api(n, "/v1/status")).json()) as { leader: string | null }).leader
      } catch {
        return null
      }
    }))
    if (leaders[0] !== null && leaders.every((l) => l === leaders[0])) return leaders[0]!
    await sleep(100)
  }
}

/** Writes a fresh random value through n1 and reads it back linearizably from n3: it crossed the peer network. */
const writeCanary = async (cluster: LocalCluster): Promise<string> => {
  const canary = `canary-${randomBytes(12).toString("hex")}`
  const [n1, , n3] = cluster.nodes
  for (;;) {
    const put = await api(n1!, "/v1/kv/canary", { method: "PUT", body: canary }).catch(() => undefined)
    if (put?.status === 200) break
    await sleep(100)
  }
  const read = await api(n3!, "/v1/kv/canary")
  expect([read.status, await read.text()]).toEqual([200, canary])
  return canary
}

const captured = (recorded: ReadonlyArray<Buffer>) => Buffer.concat(recorded)

describe("cairn server: mutual TLS between peers", () => {
  it("over mTLS: elects a leader, commits writes, and no written value crosses the peer network in plaintext", async () => {
    const { cluster, recorded } = await startCluster(true)
    expect(["n1", "n2", "n3"]).toContain(await awaitLeader(cluster.nodes))
    const canary = await writeCanary(cluster)
    for (let i = 0; i < 20; i++) expect((await api(cluster.nodes[i % 3]!, `/v1/kv/k${i}`, { method: "PUT", body: `${canary}-${i}` })).status).toBe(200)
    const bytes = captured(recorded)
    expect(bytes.length).toBeGreaterThan(10_000) // the traffic did pass through the relays
    expect(bytes.includes(canary)).toBe(false)
  })

  it("without TLS the same capture does contain the value (so the check above can fail)", async () => {
    const { cluster, recorded } = await startCluster(false)
    await awaitLeader(cluster.nodes)
    const canary = await writeCanary(cluster)
    expect(captured(recorded).includes(canary)).toBe(true)
  })

  it("refuses a peer with a certificate from another CA, and one with none, and logs each refusal", async () => {
    const { cluster, logs } = await startCluster(true)
    await awaitLeader(cluster.nodes)
    const n1 = cluster.nodes[0]!
    const dial = (client: { cert?: Buffer; key?: Buffer }) =>
      new Promise<string>((resolve) => {
        const socket = tlsConnect({ host: "127.0.0.1", port: n1.peerPort, ca: readFileSync(pki.ca), checkServerIdentity: () => undefined, ...client })
        socket.on("secureConnect", () => socket.write("hello"))
        socket.on("data", () => resolve("answered"))
        socket.on("error", () => resolve("error"))
        socket.on("close", () => resolve("closed"))
      })
    expect(await dial({ cert: readFileSync(pki.rogue.cert), key: readFileSync(pki.rogue.key) })).not.toBe("answered")
    expect(await dial({})).not.toBe("answered")
    const refusals = async (pattern: RegExp) => {
      for (;;) {
        const found = logs.filter((l) => l.startsWith("[n1]") && l.includes("peer connection refused") && pattern.test(l))
        if (found.length > 0) return found
        await sleep(50)
      }
    }
    expect((await refusals(/UNABLE_TO_VERIFY_LEAF_SIGNATURE/))[0]).toMatch(/"level":"warn"/)
    expect((await refusals(/peer did not return a certificate/))[0]).toMatch(/"remote":"127\.0\.0\.1:\d+"/)
    // The cluster itself is unaffected.
    expect((await api(n1, "/v1/kv/after", { method: "PUT", body: "still fine" })).status).toBe(200)
  })
})
