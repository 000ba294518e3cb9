/** The replicated key-value store: commands and their encoding, the state machine, client sessions. See docs/kv.md. */
export * from "./keys.ts"
export * from "./command.ts"
export * from "./ordered-map.ts"
export * from "./sessions.ts"
export * from "./state-machine.ts"
