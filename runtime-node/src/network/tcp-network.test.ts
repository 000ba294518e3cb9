import { nodeId, type Envelope, type NodeId } from "@cairn/core"
import { Effect, Exit, Scope } from "effect"
import { createConnection, createServer, type Socket } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { encodeFrame, FrameKind, frameReader } from "./frame.ts"
import { decodeChallenge, encodeHello, newNonce, proof, type Hello } from "./handshake.ts"
import { parsePeer, parsePeers, tcpNetwork, type PeerAddress, type TcpNetwork, type TcpNetworkConfig } from "./tcp-network.ts"

const SECRET = "correct horse battery staple"
const host = "127.0.0.1"
const scopes: Array<Scope.Closeable> = []
afterEach(async () => {
  for (const s of scopes.splice(0)) await Effect.runPromise(Scope.close(s, Exit.void))
})

/** Ports nobody listens on right now (bound to 0, then released). */
const freePorts = async (n: number): Promise<Array<number>> => {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((ok) => {
      const s = createServer()
      s.listen(0, host, () => ok(s))
    }))
  )
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))))
  return ports
}

const cluster = (ports: ReadonlyArray<number>): ReadonlyMap<NodeId, PeerAddress> =>
  new Map(ports.map((port, i) => [nodeId(`n${i + 1}`), { host, port }]))

/** Starts a node in its own scope; `stop` closes it (like a process exit). */
const startNode = async (config: Partial<TcpNetworkConfig> & Pick<TcpNetworkConfig, "self" | "peers">) => {
  const scope = await Effect.runPromise(Scope.make())
  scopes.push(scope)
  const net = await Effect.runPromise(
    Scope.provide(scope)(tcpNetwork({ secret: SECRET, backoffBaseMs: 5, backoffMaxMs: 50, ...config }))
  )
  return {
    net,
    stop: async () => {
      scopes.splice(scopes.indexOf(scope), 1)
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)
const receive = (net: TcpNetwork): Promise<Envelope> => Effect.runPromise(net.receive)
const send = (net: TcpNetwork, to: string, s: string) => Effect.runSync(net.send(nodeId(to), text(s)))

/** Polls until `cond` holds; the test's own timeout bounds it. */
const eventually = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((ok) => setTimeout(ok, 5))
}

/** A hand-driven dialer speaking the wire protocol, for what a real node never sends. */
const rawDialer = async (port: number, from: string, to: string, secret: string) => {
  const socket: Socket = createConnection({ host, port })
  const frames: Array<{ kind: number; payload: Uint8Array }> = []
  const reader = frameReader(1 << 20)
  let closed = false
  socket.on("data", (c: Buffer) => {
    for (const ev of reader.push(c)) if (ev._tag === "Frame") frames.push(ev)
  })
  socket.on("error", () => {})
  socket.on("close", () => {
    closed = true
  })
  await new Promise((ok) => socket.once("connect", ok))
  const hello: Hello = { from, to, nonce: newNonce() }
  socket.write(encodeFrame(FrameKind.Hello, encodeHello(hello)))
  await eventually(() => frames.length > 0 || closed)
  const challenge = decodeChallenge(frames[0]!.payload)!
  socket.write(encodeFrame(FrameKind.Auth, proof(new TextEncoder().encode(secret), "dialer", hello, challenge.nonce)))
  return {
    socket,
    frames,
    isClosed: () => closed,
    authenticated: () => eventually(() => frames.some((f) => f.kind === FrameKind.AuthOk) || closed).then(() => !closed)
  }
}

describe("peer specs", () => {
  it("parses id=host:port, IPv6 in brackets, and rejects malformed or duplicate entries", () => {
    expect(parsePeer("n1=10.0.0.1:7001")).toEqual({ id: "n1", address: { host: "10.0.0.1", port: 7001 } })
    expect(parsePeer("db-2=[::1]:9")).toEqual({ id: "db-2", address: { host: "::1", port: 9 } })
    expect(() => parsePeer("n1=host")).toThrow()
    expect(() => parsePeer("n1=host:70000")).toThrow()
    expect(() => parsePeer("bad id=h:1")).toThrow()
    expect(() => parsePeers(["n1=a:1", "n1=b:2"])).toThrow()
  })
})

describe("tcp network", () => {
  it("delivers messages between peers, both ways and to itself, with the authenticated sender", async () => {
    const peers = cluster(await freePorts(2))
    const a = await startNode({ self: nodeId("n1"), peers })
    const b = await startNode({ self: nodeId("n2"), peers })
    for (let i = 0; i < 100; i++) send(a.net, "n2", `a${i}`)
    send(b.net, "n1", "from-b")
    send(a.net, "n1", "to-self")
    const atB: Array<string> = []
    for (let i = 0; i < 100; i++) {
      const e = await receive(b.net)
      expect(e.from).toBe("n1")
      expect(e.to).toBe("n2")
      atB.push(str(e.payload))
    }
    // One connection per peer, and TCP keeps its order.
    expect(atB).toEqual(Array.from({ length: 100 }, (_, i) => `a${i}`))
    const atA = [await receive(a.net), await receive(a.net)].map((e) => `${e.from}:${str(e.payload)}`).sort()
    expect(atA).toEqual(["n1:to-self", "n2:from-b"])
    expect(a.net.stats.connected).toBe(1)
    send(a.net, "nobody", "x")
    expect(a.net.stats.droppedUnknownPeer).toBe(1)
  })

  it("reconnects after the peer restarts", async () => {
    const peers = cluster(await freePorts(2))
    const a = await startNode({ self: nodeId("n1"), peers })
    let b = await startNode({ self: nodeId("n2"), peers })
    send(a.net, "n2", "before")
    expect(str((await receive(b.net)).payload)).toBe("before")
    await b.stop()
    b = await startNode({ self: nodeId("n2"), peers })
    // Messages sent into the dying connection may be lost (best effort): keep sending until one lands.
    let got: Envelope | undefined
    const waiting = receive(b.net).then((e) => (got = e))
    for (let i = 0; got === undefined; i++) {
      send(a.net, "n2", `after-${i}`)
      await new Promise((ok) => setTimeout(ok, 10))
    }
    await waiting
    expect(str(got.payload)).toMatch(/^after-/)
    expect(a.net.stats.connected).toBeGreaterThanOrEqual(2)
  })

  it("refuses a peer with the wrong secret, on either side of the handshake", async () => {
    const peers = cluster(await freePorts(2))
    const a = await startNode({ self: nodeId("n1"), peers })
    const intruder = await startNode({ self: nodeId("n2"), peers, secret: "wrong" })
    // The intruder dials: it cannot verify n1's proof, so it gives up before sending anything.
    send(intruder.net, "n1", "let me in")
    await eventually(() => intruder.net.stats.outboundAuthFailures > 0)
    // n1 dials the intruder: n1 rejects the intruder's proof.
    send(a.net, "n2", "hello?")
    await eventually(() => a.net.stats.outboundAuthFailures > 0)
    expect(a.net.stats.inboundAuthFailures).toBe(0) // the intruder never got as far as answering
    // A dialer that answers the challenge with the wrong secret is disconnected by the listener.
    const raw = await rawDialer(peers.get(nodeId("n1"))!.port, "n2", "n1", "wrong")
    expect(await raw.authenticated()).toBe(false)
    expect(a.net.stats.inboundAuthFailures).toBe(1)
    expect(a.net.stats.delivered).toBe(0)
    // The same dialer with the right secret gets in: the refusal was about the secret.
    const good = await rawDialer(peers.get(nodeId("n1"))!.port, "n2", "n1", SECRET)
    expect(await good.authenticated()).toBe(true)
    good.socket.destroy()
    raw.socket.destroy()
  })

  it("drops and counts a frame whose payload is corrupted, and closes on a corrupted header", async () => {
    const peers = cluster(await freePorts(2))
    const a = await startNode({ self: nodeId("n1"), peers })
    const raw = await rawDialer(peers.get(nodeId("n1"))!.port, "n2", "n1", SECRET)
    expect(await raw.authenticated()).toBe(true)
    const bad = encodeFrame(FrameKind.Message, text("corrupted"))
    bad[bad.length - 1]! ^= 0x01
    raw.socket.write(bad)
    raw.socket.write(encodeFrame(FrameKind.Message, text("intact")))
    const e = await receive(a.net)
    expect(str(e.payload)).toBe("intact")
    expect(e.from).toBe("n2")
    expect(a.net.stats.corruptFrames).toBe(1)
    expect(a.net.stats.delivered).toBe(1)
    expect(raw.isClosed()).toBe(false)
    // A damaged length cannot be trusted: the listener closes the connection.
    const badHeader = encodeFrame(FrameKind.Message, text("x"))
    badHeader[0]! ^= 0x40
    raw.socket.write(badHeader)
    await eventually(raw.isClosed)
    expect(a.net.stats.framingErrors).toBe(1)
  })

  it("drops the oldest messages when a peer's queue is full, then delivers the newest", async () => {
    const peers = cluster(await freePorts(2))
    // n2 is down: every message waits in n1's queue of 10.
    const a = await startNode({ self: nodeId("n1"), peers, queueMessages: 10 })
    for (let i = 0; i < 25; i++) send(a.net, "n2", `m${i}`)
    expect(a.net.queued(nodeId("n2"))).toBe(10)
    expect(a.net.stats.droppedQueueFull).toBe(15)
    expect(a.net.stats.sent).toBe(25)
    const b = await startNode({ self: nodeId("n2"), peers })
    const got: Array<string> = []
    for (let i = 0; i < 10; i++) got.push(str((await receive(b.net)).payload))
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 15}`))
    expect(a.net.stats.connectFailures).toBeGreaterThan(0)
  })

  it("pauses reading when the inbox is full and resumes as it drains, losing nothing", async () => {
    const peers = cluster(await freePorts(2))
    const a = await startNode({ self: nodeId("n1"), peers })
    const b = await startNode({ self: nodeId("n2"), peers, inboxMessages: 8 })
    const big = new Uint8Array(64 * 1024)
    for (let i = 0; i < 64; i++) {
      big[0] = i
      Effect.runSync(a.net.send(nodeId("n2"), big))
    }
    await eventually(() => b.net.stats.inboundPauses > 0)
    const order: Array<number> = []
    for (let i = 0; i < 64; i++) order.push((await receive(b.net)).payload[0]!)
    expect(order).toEqual(Array.from({ length: 64 }, (_, i) => i))
    expect(a.net.stats.droppedQueueFull).toBe(0)
  })

  it("refuses to start when the port is taken", async () => {
    const [port] = await freePorts(1)
    const peers = cluster([port!])
    await startNode({ self: nodeId("n1"), peers })
    const err = await Effect.runPromise(
      Effect.flip(Effect.scoped(tcpNetwork({ self: nodeId("n1"), peers, secret: SECRET })))
    )
    expect(err._tag).toBe("NetworkListenError")
  })
})
