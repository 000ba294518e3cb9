/**
 * Mutual TLS on the peer transport (tcp-network.ts with `tls`): nodes with
 * certificates from the cluster's CA exchange messages; a dialer with a
 * certificate from another CA, with none, or speaking plain TCP is refused
 * and reported; a node whose own certificate is rogue cannot reach a good
 * one either way. Certificates come from openssl, made in the test.
 */
import { nodeId, type NodeId } from "@cairn/core"
import { Effect, Exit, Scope } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createConnection } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect as tlsConnect } from "node:tls"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { type PeerRefusal, type PeerTls, tcpNetwork, type TcpNetwork } from "./tcp-network.ts"
import { makeTestPki, type TestPki, type CertFiles } from "./test-certs.test-support.ts"

const SECRET = "correct horse battery staple"
const host = "127.0.0.1"
const scopes: Array<Scope.Closeable> = []
let dir = ""
let pki: TestPki & { readonly rogue: CertFiles }

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cairn-peer-tls-"))
  pki = makeTestPki(dir, ["n1", "n2"])
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(async () => {
  for (const s of scopes.splice(0)) await Effect.runPromise(Scope.close(s, Exit.void))
})

const material = (files: CertFiles): PeerTls => ({ cert: readFileSync(files.cert), key: readFileSync(files.key), ca: readFileSync(pki.ca) })

const startNode = async (self: string, peers: ReadonlyMap<NodeId, { host: string; port: number }>, tls: PeerTls, refusals: Array<PeerRefusal>) => {
  const scope = await Effect.runPromise(Scope.make())
  scopes.push(scope)
  return Effect.runPromise(
    Scope.provide(scope)(tcpNetwork({ self: nodeId(self), peers, secret: SECRET, tls, onRefused: (r) => refusals.push(r), backoffBaseMs: 5, backoffMaxMs: 50 }))
  )
}

const eventually = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((ok) => setTimeout(ok, 5))
}
const receive = (net: TcpNetwork) => Effect.runPromise(net.receive)

describe("peer transport over mutual TLS", () => {
  it("carries messages both ways between nodes whose certificates the CA signed", async () => {
    const [p1, p2] = await freeLoopbackPorts(2)
    const peers = new Map([[nodeId("n1"), { host, port: p1! }], [nodeId("n2"), { host, port: p2! }]])
    const refusals: Array<PeerRefusal> = []
    const n1 = await startNode("n1", peers, material(pki.nodes.n1!), refusals)
    const n2 = await startNode("n2", peers, material(pki.nodes.n2!), refusals)
    Effect.runSync(n1.send(nodeId("n2"), new TextEncoder().encode("ping")))
    const got = await receive(n2)
    expect([got.from, new TextDecoder().decode(got.payload)]).toEqual(["n1", "ping"])
    Effect.runSync(n2.send(nodeId("n1"), new TextEncoder().encode("pong")))
    expect(new TextDecoder().decode((await receive(n1)).payload)).toBe("pong")
    expect([n1.stats.inboundTlsFailures, n2.stats.inboundTlsFailures, refusals]).toEqual([0, 0, []])
  })

  it("refuses a dialer whose certificate another CA signed, one without a certificate, and plain TCP, and reports each", async () => {
    const [p1] = await freeLoopbackPorts(1)
    const refusals: Array<PeerRefusal> = []
    const n1 = await startNode("n1", new Map([[nodeId("n1"), { host, port: p1! }]]), material(pki.nodes.n1!), refusals)
    /** Dials with TLS (trusting the cluster CA, so only the listener's verdict matters); resolves how it ended. */
    const dial = (client: { cert?: Buffer; key?: Buffer }) =>
      new Promise<string>((resolve) => {
        const socket = tlsConnect({ host, port: p1!, ca: readFileSync(pki.ca), checkServerIdentity: () => undefined, ...client })
        socket.on("secureConnect", () => socket.write("hello?"))
        socket.on("data", () => resolve("answered"))
        socket.on("error", (e) => resolve(`error: ${e.message}`))
        socket.on("close", () => resolve("closed"))
      })
    expect(await dial({ cert: readFileSync(pki.rogue.cert), key: readFileSync(pki.rogue.key) })).not.toBe("answered")
    await eventually(() => n1.stats.inboundTlsFailures >= 1)
    expect(await dial({})).not.toBe("answered")
    await eventually(() => n1.stats.inboundTlsFailures >= 2)
    await new Promise<void>((resolve) => {
      const plain = createConnection({ host, port: p1! }, () => plain.write("not tls at all\r\n\r\n"))
      plain.on("error", () => {})
      plain.on("close", () => resolve())
    })
    await eventually(() => n1.stats.inboundTlsFailures >= 3)
    expect(refusals.map((r) => r.side)).toEqual(["inbound", "inbound", "inbound"])
    expect(refusals[0]!.reason).toMatch(/^TLS: its certificate was refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/)
    expect(refusals[1]!.reason).toMatch(/^TLS: .*peer did not return a certificate/)
    expect(refusals[2]!.reason).toMatch(/^TLS: .*wrong version number/)
    for (const r of refusals) expect(r.remote).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(n1.stats.inboundAuthFailures).toBe(0) // refused before the secret handshake
  })

  it("a node with a rogue certificate reaches nobody, and nobody accepts it", async () => {
    const [p1, p2] = await freeLoopbackPorts(2)
    const peers = new Map([[nodeId("n1"), { host, port: p1! }], [nodeId("n2"), { host, port: p2! }]])
    const good: Array<PeerRefusal> = []
    const bad: Array<PeerRefusal> = []
    const n1 = await startNode("n1", peers, material(pki.nodes.n1!), good)
    const n2 = await startNode("n2", peers, material(pki.rogue), bad)
    Effect.runSync(n2.send(nodeId("n1"), new TextEncoder().encode("from the rogue")))
    Effect.runSync(n1.send(nodeId("n2"), new TextEncoder().encode("to the rogue")))
    await eventually(() => n1.stats.inboundTlsFailures >= 1 && n1.stats.outboundTlsFailures >= 1)
    expect([n1.stats.delivered, n2.stats.delivered, n1.stats.connected, n2.stats.connected]).toEqual([0, 0, 0, 0])
    expect(good.some((r) => r.side === "outbound" && r.peer === "n2")).toBe(true)
  })
})
