/**
 * The Network service over TCP between the peers of a static cluster
 * (`id=host:port`).
 *
 * - Connections: one outbound connection per peer carries this node's
 *   messages to it; messages from a peer arrive on the connection that peer
 *   dialled. A message's `from` is the id its connection authenticated as,
 *   never a field the sender could forge.
 * - Framing: see `frame.ts` (length, version, kind, CRC32C of payload and of
 *   header). A frame with a bad payload checksum is dropped and counted; a
 *   bad header closes the connection (it cannot be framed any more).
 * - Authentication: see `handshake.ts` (mutual HMAC challenge–response with
 *   the cluster secret). A peer that fails it is disconnected and counted.
 * - Mutual TLS (optional, `tls`): every connection is TLS; both sides
 *   present their certificate and accept only one that chains to the
 *   configured CA (`requestCert`, `rejectUnauthorized`), so the stream is
 *   encrypted and only holders of a CA-signed key get as far as the
 *   secret handshake, which then runs inside it. Host names are not checked:
 *   the CA is the cluster's own, and the secret handshake binds node ids.
 *   Refused TLS handshakes are counted and reported to `onRefused`.
 * - Reconnect: after a failed or lost connection the dialer waits an
 *   exponential backoff (base doubling up to a cap) with jitter (uniform in
 *   [cap/2, cap]) before the next attempt, and starts over after a
 *   successful handshake.
 * - Back-pressure, sending: each peer has a bounded queue (messages and
 *   bytes). The queue drains into the socket only while the socket accepts
 *   more (`write` returned true or 'drain' fired). When it is full the OLDEST
 *   queued message is dropped and counted: the contract is best-effort, and
 *   for consensus traffic the newest message (latest term, commit index) is
 *   the one worth sending. `send` never blocks and never fails.
 * - Back-pressure, receiving: delivered messages wait in a bounded inbox for
 *   `receive`; when it is full, reading from every inbound socket pauses (so
 *   TCP pushes back on the senders) until it drains to half.
 */
import { assert, Network, type Envelope, type NetworkShape, type NodeId } from "@cairn/core"
import { Crc32c, type Crc32cShape } from "@cairn/core/checksum/crc32c-service"
import { Data, Effect, Layer, type Scope } from "effect"
import { createConnection, createServer, type Server, type Socket } from "node:net"
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from "node:tls"
import { encodeFrame, frameReader, FrameKind } from "./frame.ts"
import {
  decodeChallenge,
  decodeHello,
  encodeChallenge,
  encodeHello,
  newNonce,
  proof,
  proofMatches,
  type Hello
} from "./handshake.ts"

export interface PeerAddress {
  readonly host: string
  readonly port: number
}

export class NetworkListenError extends Data.TaggedError("NetworkListenError")<{
  readonly host: string
  readonly port: number
  readonly message: string
}> {}

export class PeerSpecError extends Data.TaggedError("PeerSpecError")<{
  readonly spec: string
  readonly message: string
}> {}

/** Parses `id=host:port` (IPv6 hosts in brackets: `n1=[::1]:7001`). */
export const parsePeer = (spec: string): { readonly id: NodeId; readonly address: PeerAddress } => {
  const m = /^([A-Za-z0-9_-]{1,64})=(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(spec.trim())
  const port = m === null ? NaN : Number(m[4])
  if (m === null || !(port > 0 && port < 65536)) {
    throw new PeerSpecError({ spec, message: `expected id=host:port, got "${spec}"` })
  }
  return { id: m[1] as NodeId, address: { host: m[2] ?? m[3]!, port } }
}

export const parsePeers = (specs: ReadonlyArray<string>): ReadonlyMap<NodeId, PeerAddress> => {
  const out = new Map<NodeId, PeerAddress>()
  for (const spec of specs) {
    const { id, address } = parsePeer(spec)
    if (out.has(id)) throw new PeerSpecError({ spec, message: `peer ${id} listed twice` })
    out.set(id, address)
  }
  return out
}

/** PEM material for mutual TLS between peers. */
export interface PeerTls {
  /** This node's certificate (chain). */
  readonly cert: string | Buffer
  readonly key: string | Buffer
  /** The CA certificate(s) every peer's certificate must chain to. */
  readonly ca: string | Buffer
}

/** A connection this node refused, or that refused this node: for the operator's log. */
export interface PeerRefusal {
  readonly side: "inbound" | "outbound"
  /** The remote address (inbound) or the peer dialled (outbound). */
  readonly remote: string
  readonly peer: NodeId | undefined
  readonly reason: string
}

export interface TcpNetworkConfig {
  readonly self: NodeId
  /** Every node of the cluster; may include `self`. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>
  /** The cluster secret every node shares. */
  readonly secret: string | Uint8Array
  /** Where to listen. Default: self's entry in `peers`. */
  readonly listen?: PeerAddress
  /** Per-peer send queue bound. Default 4096 messages / 64 MiB. */
  readonly queueMessages?: number
  readonly queueBytes?: number
  /** Delivered messages waiting for `receive` before inbound sockets pause. Default 4096. */
  readonly inboxMessages?: number
  /** Reconnect backoff. Default 50 ms doubling to 5 s. */
  readonly backoffBaseMs?: number
  readonly backoffMaxMs?: number
  /** A connection that has not authenticated by then is closed. Default 5 s. */
  readonly handshakeTimeoutMs?: number
  /** Largest accepted payload. Default 64 MiB. */
  readonly maxPayloadBytes?: number
  /** Mutual TLS on every connection, both ways; undefined: plain TCP. */
  readonly tls?: PeerTls
  /** Told of every refused connection (TLS or secret handshake). */
  readonly onRefused?: (refusal: PeerRefusal) => void
}

/** Counters since start, for tests and operators. */
export interface NetworkStats {
  /** Messages accepted by `send` for a known peer (or self). */
  sent: number
  /** Messages handed to the inbox. */
  delivered: number
  /** Oldest messages dropped from a full send queue. */
  droppedQueueFull: number
  /** Messages for a node not in the peer list. */
  droppedUnknownPeer: number
  /** Frames dropped because their payload checksum did not match. */
  corruptFrames: number
  /** Connections closed because the stream could not be framed (bad header, version, size). */
  framingErrors: number
  /** Inbound handshakes refused: wrong secret, unknown or misdirected peer. */
  inboundAuthFailures: number
  /** Outbound handshakes abandoned because the listener could not prove the secret. */
  outboundAuthFailures: number
  /** Times a full inbox paused reading from the inbound sockets. */
  inboundPauses: number
  /** TLS handshakes refused: a peer without a certificate, or with one the CA did not sign; or a plain-TCP dialer. */
  inboundTlsFailures: number
  /** Outbound TLS handshakes that failed (the listener's certificate, or ours, refused). */
  outboundTlsFailures: number
  /** Outbound connections that completed the handshake. */
  connected: number
  /** Outbound connection attempts that failed or were lost. */
  connectFailures: number
}

export interface TcpNetwork extends NetworkShape {
  /** The bound address (useful with port 0). */
  readonly address: PeerAddress
  readonly stats: NetworkStats
  /** Messages currently queued for `peer`. */
  readonly queued: (peer: NodeId) => number
}

const MAX_ID_BYTES = 64

interface Outbound {
  readonly id: NodeId
  readonly address: PeerAddress
  readonly queue: Array<Buffer>
  queuedBytes: number
  socket: Socket | undefined
  state: "idle" | "connecting" | "ready" | "backoff"
  attempts: number
  timer: ReturnType<typeof setTimeout> | undefined
}

/**
 * Starts listening and returns the network; everything closes with the scope.
 * Frames are checksummed with the Crc32c service bound here (the server binds the native one).
 */
export const tcpNetwork = (config: TcpNetworkConfig): Effect.Effect<TcpNetwork, NetworkListenError, Scope.Scope> =>
  Crc32c.use((checksum) => Effect.acquireRelease(
    Effect.callback<Running, NetworkListenError>((resume) => {
      const running = start(config, checksum)
      const failed = (e: Error) => resume(Effect.fail(new NetworkListenError({ ...running.listen, message: e.message })))
      running.server.once("error", failed)
      running.server.listen(running.listen.port, running.listen.host, () => {
        running.server.off("error", failed)
        running.server.on("error", () => {}) // accept errors after listening hit only the failed socket
        resume(Effect.succeed(running))
      })
    }),
    (running) => Effect.promise(() => running.stop())
  )).pipe(Effect.map((running) => running.network))

const formatAddress = (a: PeerAddress) => (a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)

/** An error of the TLS handshake or certificate check (not a refused or reset TCP connection). */
const isTlsError = (e: NodeJS.ErrnoException): boolean =>
  /^(ERR_SSL|ERR_TLS|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO)/.test(e.code ?? "") || /certificate|ssl|tls/i.test(e.message)

/** The Network service over TCP. */
export const tcpNetworkLayer = (config: TcpNetworkConfig): Layer.Layer<Network, NetworkListenError> =>
  Layer.effect(Network, tcpNetwork(config))

interface Running {
  readonly server: Server
  readonly listen: PeerAddress
  readonly network: TcpNetwork
  readonly stop: () => Promise<void>
}

const zeroStats = (): NetworkStats => ({
  sent: 0,
  delivered: 0,
  droppedQueueFull: 0,
  droppedUnknownPeer: 0,
  corruptFrames: 0,
  framingErrors: 0,
  inboundAuthFailures: 0,
  outboundAuthFailures: 0,
  inboundPauses: 0,
  inboundTlsFailures: 0,
  outboundTlsFailures: 0,
  connected: 0,
  connectFailures: 0
})

/** An outbound connection state per peer other than `self`, none connected yet. */
const idleOutbound = (peers: TcpNetworkConfig["peers"], self: NodeId): Map<NodeId, Outbound> => {
  const outbound = new Map<NodeId, Outbound>()
  for (const [id, address] of peers) {
    if (id === self) continue
    outbound.set(id, {
      id,
      address,
      queue: [],
      queuedBytes: 0,
      socket: undefined,
      state: "idle",
      attempts: 0,
      timer: undefined
    })
  }
  return outbound
}

const start = (config: TcpNetworkConfig, checksum: Crc32cShape): Running => {
  const encode = (kind: FrameKind, payload: Uint8Array) => encodeFrame(kind, payload, checksum)
  const self = config.self
  const secret = typeof config.secret === "string" ? new TextEncoder().encode(config.secret) : config.secret
  assert(secret.length > 0, "the cluster secret must not be empty")
  assert(new TextEncoder().encode(self).length <= MAX_ID_BYTES, "node id too long")
  const listen = config.listen ?? config.peers.get(self)
  assert(listen !== undefined, `no listen address: ${self} is not in the peer list and no listen address was given`)
  const queueMessages = config.queueMessages ?? 4096
  const queueBytes = config.queueBytes ?? 64 * 1024 * 1024
  const inboxMessages = config.inboxMessages ?? 4096
  const backoffBaseMs = config.backoffBaseMs ?? 50
  const backoffMaxMs = config.backoffMaxMs ?? 5000
  const handshakeTimeoutMs = config.handshakeTimeoutMs ?? 5000
  const maxPayloadBytes = config.maxPayloadBytes ?? 64 * 1024 * 1024

  const stats = zeroStats()
  let stopped = false
  const sockets = new Set<Socket>()
  const tls = config.tls
  const refused = (refusal: PeerRefusal) => config.onRefused?.(refusal)

  // ---- inbox ---------------------------------------------------------------
  const inbox: Array<Envelope> = []
  const waiters: Array<(e: Envelope) => void> = []
  const inbound = new Set<Socket>()
  let inboundPaused = false
  const deliver = (envelope: Envelope) => {
    stats.delivered++
    const waiter = waiters.shift()
    if (waiter !== undefined) return waiter(envelope)
    inbox.push(envelope)
    if (inbox.length >= inboxMessages && !inboundPaused) {
      inboundPaused = true
      stats.inboundPauses++
      for (const s of inbound) s.pause()
    }
  }
  const receive: Effect.Effect<Envelope> = Effect.callback<Envelope>((resume) => {
    const next = inbox.shift()
    if (next !== undefined) {
      if (inboundPaused && inbox.length <= inboxMessages / 2) {
        inboundPaused = false
        for (const s of inbound) s.resume()
      }
      resume(Effect.succeed(next))
      return
    }
    const waiter = (e: Envelope) => resume(Effect.succeed(e))
    waiters.push(waiter)
    return Effect.sync(() => {
      const i = waiters.indexOf(waiter)
      if (i >= 0) waiters.splice(i, 1)
    })
  })

  // ---- outbound ------------------------------------------------------------
  const outbound = idleOutbound(config.peers, self)

  const pump = (peer: Outbound) => {
    const socket = peer.socket
    if (peer.state !== "ready" || socket === undefined) return
    while (peer.queue.length > 0 && !socket.writableNeedDrain) {
      const frame = peer.queue.shift()!
      peer.queuedBytes -= frame.length
      socket.write(frame)
    }
  }

  const lost = (peer: Outbound, socket: Socket) => {
    if (peer.socket !== socket) return
    peer.socket = undefined
    if (stopped) return
    if (peer.state !== "ready") stats.connectFailures++
    peer.state = "backoff"
    const cap = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(peer.attempts, 30))
    peer.attempts++
    const delay = cap / 2 + Math.random() * (cap / 2)
    peer.timer = setTimeout(() => {
      peer.timer = undefined
      peer.state = "idle"
      // Reconnect only when there is something to send; the next send dials otherwise.
      if (peer.queue.length > 0) connect(peer)
    }, delay)
  }

  const connect = (peer: Outbound) => {
    if (stopped || peer.state !== "idle") return
    peer.state = "connecting"
    const socket: Socket = tls === undefined
      ? createConnection({ host: peer.address.host, port: peer.address.port })
      // The listener's certificate must chain to the CA; its name is not checked (see the header).
      : tlsConnect({ host: peer.address.host, port: peer.address.port, cert: tls.cert, key: tls.key, ca: tls.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined })
    sockets.add(socket)
    peer.socket = socket
    socket.setNoDelay(true)
    const hello: Hello = { from: self, to: peer.id, nonce: newNonce() }
    const reader = frameReader(maxPayloadBytes, checksum)
    let phase: "challenge" | "ok" | "ready" = "challenge"
    const timeout = setTimeout(() => socket.destroy(), handshakeTimeoutMs)
    socket.on(tls === undefined ? "connect" : "secureConnect", () => socket.write(encode(FrameKind.Hello, encodeHello(hello))))
    socket.on("data", (chunk: Buffer) => {
      for (const ev of reader.push(chunk)) {
        if (ev._tag === "Fatal") {
          stats.framingErrors++
          return void socket.destroy()
        }
        if (ev._tag === "CorruptPayload") {
          stats.corruptFrames++
          if (phase !== "ready") return void socket.destroy() // a handshake frame is not optional
          continue
        }
        if (phase === "challenge" && ev.kind === FrameKind.Challenge) {
          const challenge = decodeChallenge(ev.payload)
          if (challenge === undefined || !proofMatches(proof(secret, "listener", hello, challenge.nonce), challenge.proof)) {
            stats.outboundAuthFailures++
            refused({ side: "outbound", remote: formatAddress(peer.address), peer: peer.id, reason: "the listener could not prove the cluster secret" })
            return void socket.destroy()
          }
          socket.write(encode(FrameKind.Auth, proof(secret, "dialer", hello, challenge.nonce)))
          phase = "ok"
        } else if (phase === "ok" && ev.kind === FrameKind.AuthOk) {
          clearTimeout(timeout)
          phase = "ready"
          peer.state = "ready"
          peer.attempts = 0
          stats.connected++
          pump(peer)
        } else {
          // Nothing else is expected from the listener side of a connection.
          return void socket.destroy()
        }
      }
    })
    socket.on("drain", () => pump(peer))
    socket.on("error", (e: NodeJS.ErrnoException) => {
      // 'close' follows and handles the connection; a TLS refusal is worth telling the operator about.
      if (tls !== undefined && phase !== "ready" && isTlsError(e)) {
        stats.outboundTlsFailures++
        refused({ side: "outbound", remote: formatAddress(peer.address), peer: peer.id, reason: `TLS: ${e.message}` })
      }
    })
    socket.on("close", () => {
      clearTimeout(timeout)
      sockets.delete(socket)
      lost(peer, socket)
    })
  }

  const send = (to: NodeId, payload: Uint8Array): Effect.Effect<void> =>
    Effect.sync(() => {
      if (stopped) return
      if (to === self) {
        stats.sent++
        deliver({ from: self, to: self, payload: payload.slice() })
        return
      }
      const peer = outbound.get(to)
      if (peer === undefined) {
        stats.droppedUnknownPeer++
        return
      }
      stats.sent++
      const frame = encode(FrameKind.Message, payload)
      peer.queue.push(frame)
      peer.queuedBytes += frame.length
      while (peer.queue.length > queueMessages || peer.queuedBytes > queueBytes) {
        const dropped = peer.queue.shift()!
        peer.queuedBytes -= dropped.length
        stats.droppedQueueFull++
      }
      if (peer.state === "idle") connect(peer)
      else pump(peer)
    })

  // ---- inbound -------------------------------------------------------------
  const onSocket = (socket: Socket) => {
    if (stopped) return void socket.destroy()
    sockets.add(socket)
    socket.setNoDelay(true)
    const reader = frameReader(maxPayloadBytes, checksum)
    let hello: Hello | undefined
    let listenerNonce: Uint8Array | undefined
    let from: NodeId | undefined
    const timeout = setTimeout(() => socket.destroy(), handshakeTimeoutMs)
    const refuse = () => {
      stats.inboundAuthFailures++
      refused({ side: "inbound", remote: `${socket.remoteAddress}:${socket.remotePort}`, peer: undefined, reason: "the cluster secret handshake failed (wrong secret, unknown peer or misdirected connection)" })
      socket.destroy()
    }
    socket.on("data", (chunk: Buffer) => {
      for (const ev of reader.push(chunk)) {
        if (ev._tag === "Fatal") {
          stats.framingErrors++
          return void socket.destroy()
        }
        if (ev._tag === "CorruptPayload") {
          stats.corruptFrames++
          if (from === undefined) return void socket.destroy()
          continue
        }
        if (from !== undefined) {
          if (ev.kind !== FrameKind.Message) return void socket.destroy()
          deliver({ from, to: self, payload: ev.payload })
        } else if (hello === undefined && ev.kind === FrameKind.Hello) {
          const h = decodeHello(ev.payload)
          // Only known peers, and only connections meant for this node.
          if (h === undefined || h.to !== self || h.from === self || !config.peers.has(h.from as NodeId)) return refuse()
          hello = h
          listenerNonce = newNonce()
          socket.write(
            encode(FrameKind.Challenge, encodeChallenge(listenerNonce, proof(secret, "listener", h, listenerNonce)))
          )
        } else if (hello !== undefined && listenerNonce !== undefined && ev.kind === FrameKind.Auth) {
          if (!proofMatches(proof(secret, "dialer", hello, listenerNonce), ev.payload)) return refuse()
          clearTimeout(timeout)
          from = hello.from as NodeId
          inbound.add(socket)
          if (inboundPaused) socket.pause()
          socket.write(encode(FrameKind.AuthOk, new Uint8Array(0)))
        } else {
          return refuse()
        }
      }
    })
    socket.on("error", () => {})
    socket.on("close", () => {
      clearTimeout(timeout)
      sockets.delete(socket)
      inbound.delete(socket)
    })
  }
  const server: Server = tls === undefined
    ? createServer(onSocket)
    : createTlsServer({ cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: true, handshakeTimeout: handshakeTimeoutMs }, onSocket)
  // Every accepted socket, also one still in its TLS handshake, so that stop() can close it.
  // Where each accepted socket came from, while it can still be read (a refused TLS socket has lost it).
  const remotes = new WeakMap<Socket, string>()
  server.on("connection", (socket: Socket) => {
    remotes.set(socket, `${socket.remoteAddress}:${socket.remotePort}`)
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  server.on("tlsClientError", (e: Error, socket: TLSSocket & { readonly _parent?: Socket }) => {
    stats.inboundTlsFailures++
    // A refused client certificate surfaces as a bare "socket hang up" on an already destroyed socket:
    // its verdict is in authorizationError, its address with the TCP socket underneath.
    const verdict = socket.authorizationError === undefined || socket.authorizationError === null ? e.message : `its certificate was refused (${String(socket.authorizationError)})`
    const remote = remotes.get(socket._parent ?? socket) ?? (socket.remoteAddress === undefined ? "unknown" : `${socket.remoteAddress}:${socket.remotePort}`)
    refused({ side: "inbound", remote, peer: undefined, reason: `TLS: ${verdict}` })
    socket.destroy()
  })

  const network: TcpNetwork = {
    self,
    send,
    receive,
    stats,
    queued: (peer) => outbound.get(peer)?.queue.length ?? 0,
    get address() {
      const a = server.address()
      return a !== null && typeof a === "object" ? { host: a.address, port: a.port } : listen
    }
  }

  const stop = () =>
    new Promise<void>((done) => {
      stopped = true
      for (const peer of outbound.values()) if (peer.timer !== undefined) clearTimeout(peer.timer)
      for (const s of sockets) s.destroy()
      server.close(() => done())
    })

  return { server, listen, network, stop }
}

