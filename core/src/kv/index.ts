/** The replicated key-value store: commands and their encoding, the state machine, client sessions, the client protocol, server and client library. See docs/kv.md. */
export * from "./keys.ts"
export * from "./command.ts"
export * from "./ordered-map.ts"
export * from "./sessions.ts"
export * from "./state-machine.ts"
export * from "./protocol.ts"
export * from "./server.ts"
export * from "./client.ts"
