/**
 * The connection cap of one listener. At most `maxConnections` are open;
 * when one more arrives the oldest idle kept-alive connection (a finished
 * response, no request since) is closed to make room, and only when none is
 * idle is the newcomer closed on arrival. So a listener full of idle
 * clients still answers a probe or a new client, and a listener full of
 * busy ones refuses new work before it spends anything on it.
 *
 * Node's own `server.maxConnections` would refuse the newcomer even when
 * thousands of idle connections hold the cap; this guard is used instead.
 * It sees connections through the narrow `Closable` interface, so its rules
 * are tested without sockets.
 */
import { assert } from "@cairn/core/invariant/invariant"

/** A connection as the guard needs it. */
export interface Closable {
  readonly destroy: () => void
}

export interface ConnectionStats {
  readonly connections: number
  /** Newcomers closed on arrival because every open connection was busy. */
  readonly connectionsRefused: number
  /** Idle connections closed to make room for a newcomer. */
  readonly idleEvicted: number
}

export class ConnectionGuard<C extends Closable> {
  private open = 0
  private refused = 0
  private evicted = 0
  // Insertion-ordered: the first entry is the connection idle the longest.
  private readonly idle = new Set<C>()
  private readonly maxConnections: number
  constructor(maxConnections: number) {
    assert(maxConnections >= 1, "a listener must accept at least one connection")
    this.maxConnections = maxConnections
  }

  /** A new connection: returns false when it was closed on arrival (the caller forgets it). */
  opened(connection: C): boolean {
    if (this.open >= this.maxConnections) {
      const oldest = this.idle.values().next()
      if (oldest.done === true) {
        this.refused++
        connection.destroy()
        return false
      }
      this.idle.delete(oldest.value)
      this.evicted++
      oldest.value.destroy()
    }
    this.open++
    return true
  }

  /** An accepted connection closed (for any reason). */
  closed(connection: C): void {
    assert(this.open > 0, "a connection closed that was never counted")
    this.open--
    this.idle.delete(connection)
  }

  /** The connection finished a response and waits for its next request. */
  becameIdle(connection: C): void {
    this.idle.delete(connection)
    this.idle.add(connection)
  }

  /** A request arrived on the connection, or it closed (a TLS socket closes apart from the TCP one counted). */
  becameBusy(connection: C): void {
    this.idle.delete(connection)
  }

  stats(): ConnectionStats {
    return { connections: this.open, connectionsRefused: this.refused, idleEvicted: this.evicted }
  }
}
