/**
 * The Network of a server whose membership can change while it runs.
 *
 * `tcpNetwork` dials a fixed peer list, so this wraps it: one base network
 * listens and dials the initial cluster; the address book it checks inbound
 * handshakes against is a Map this module owns and updates, so a member added
 * later is accepted when it dials us. Messages *to* a member added later go
 * through a small extra `tcpNetwork` that dials just that peer (it listens on
 * an ephemeral loopback port that nobody dials). Removing a member closes its
 * extra network and drops it from the address book.
 *
 * Where members live is replicated through the KV store (see `members.ts`),
 * so every node, including one restarted later, learns the same addresses.
 *
 * With `tls` every connection, the extra ones too, is mutual TLS. Refused
 * connections (a certificate the CA did not sign, none at all, a wrong
 * cluster secret) are logged as warnings, each kind from each address at
 * most once a minute, since a misconfigured peer retries every few seconds.
 */
import type { NetworkShape, NodeId } from "@cairn/core"
import { Effect, Exit, Scope } from "effect"
import { type NetworkListenError, type PeerAddress, type PeerRefusal, type PeerTls, tcpNetwork, type TcpNetwork } from "../network/tcp-network.ts"
import { formatHostPort } from "./config.ts"
import { log } from "../log/log.ts"

export interface ClusterNetwork {
  readonly network: NetworkShape
  readonly base: TcpNetwork
  /** Makes `id` reachable at `address` (no-op if already known there). */
  readonly addPeer: (id: NodeId, address: PeerAddress) => Effect.Effect<void>
  readonly removePeer: (id: NodeId) => Effect.Effect<void>
  readonly addressOf: (id: NodeId) => PeerAddress | undefined
}

export const clusterNetwork = (config: {
  readonly self: NodeId
  readonly peers: ReadonlyMap<NodeId, PeerAddress>
  readonly secret: string
  readonly listen: PeerAddress
  readonly tls?: PeerTls | undefined
}): Effect.Effect<ClusterNetwork, NetworkListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const addressBook = new Map(config.peers)
    const lastLogged = new Map<string, number>()
    const onRefused = (r: PeerRefusal) => {
      // Inbound refusals are keyed by the remote host, not its ephemeral port.
      const from = r.side === "inbound" ? r.remote.replace(/:\d+$/, "") : r.remote
      const key = `${r.side} ${from} ${r.reason}`
      const now = performance.now()
      if (now - (lastLogged.get(key) ?? -Infinity) < 60_000) return
      lastLogged.set(key, now)
      log("warn", r.side === "inbound" ? "peer connection refused" : "connection to peer refused", { side: r.side, remote: r.remote, peer: r.peer ?? null, reason: r.reason })
    }
    const security = { ...(config.tls === undefined ? {} : { tls: config.tls }), onRefused }
    const base = yield* tcpNetwork({ self: config.self, peers: addressBook, secret: config.secret, listen: config.listen, ...security })
    const extras = new Map<NodeId, { readonly network: TcpNetwork; readonly scope: Scope.Closeable; readonly address: PeerAddress }>()
    yield* Effect.addFinalizer(() => Effect.forEach([...extras.values()], (e) => Scope.close(e.scope, Exit.void), { discard: true }))

    const removePeer = (id: NodeId) =>
      Effect.gen(function*() {
        if (id === config.self) return
        const extra = extras.get(id)
        extras.delete(id)
        if (!config.peers.has(id)) addressBook.delete(id)
        if (extra !== undefined) yield* Scope.close(extra.scope, Exit.void)
      })

    const addPeer = (id: NodeId, address: PeerAddress) =>
      Effect.gen(function*() {
        if (id === config.self) return
        const known = config.peers.get(id)
        // Members of the initial cluster are dialled by the base network at their configured address.
        if (known !== undefined) return
        const extra = extras.get(id)
        if (extra !== undefined && extra.address.host === address.host && extra.address.port === address.port) return
        if (extra !== undefined) yield* removePeer(id)
        addressBook.set(id, address)
        const scope = yield* Scope.make()
        const started = yield* Effect.exit(
          Scope.provide(scope)(
            tcpNetwork({ self: config.self, peers: new Map([[id, address]]), secret: config.secret, listen: { host: "127.0.0.1", port: 0 }, ...security })
          )
        )
        if (Exit.isFailure(started)) {
          yield* Scope.close(scope, Exit.void)
          log("error", "could not start the connection to a new member", { peer: id, address: formatHostPort(address) })
          return
        }
        extras.set(id, { network: started.value, scope, address })
        log("info", "member reachable", { peer: id, address: formatHostPort(address) })
      }).pipe(Effect.uninterruptible)

    const network: NetworkShape = {
      self: config.self,
      send: (to, payload) => {
        const extra = extras.get(to)
        return extra === undefined ? base.send(to, payload) : extra.network.send(to, payload)
      },
      receive: base.receive
    }
    return { network, base, addPeer, removePeer, addressOf: (id) => addressBook.get(id) }
  })
