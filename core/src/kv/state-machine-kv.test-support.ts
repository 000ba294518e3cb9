/**
 * A `KvClient` over one in-process KV state machine for unit tests: every
 * write applies at once, every read sees it. No Raft, no network, no
 * failures; `failNext` makes the next calls fail, to test callers' error paths.
 */
import { Effect } from "effect"
import { KvUnavailableError, type KvClient } from "./client.ts"
import { encodeSessionCommand } from "./command.ts"
import { KvStateMachine } from "./state-machine.ts"

export interface StateMachineKv extends KvClient {
  readonly machine: KvStateMachine
  /** The next `n` reads and writes fail with KvUnavailableError. */
  readonly failNext: (n: number) => void
}

export const localKv = (): StateMachineKv => {
  const machine = new KvStateMachine()
  let index = 0
  let failures = 0
  const failing = () => {
    if (failures === 0) return false
    failures -= 1
    return true
  }
  return {
    clientId: "test",
    machine,
    failNext: (n) => {
      failures = n
    },
    write: (command) =>
      Effect.suspend(() =>
        failing()
          ? Effect.fail(new KvUnavailableError({ message: "planted failure" }))
          : Effect.succeed(machine.apply(++index, encodeSessionCommand({ clientId: "test", seq: index, command })))
      ),
    read: (command) =>
      Effect.suspend(() =>
        failing()
          ? Effect.fail(new KvUnavailableError({ message: "planted failure" }))
          : Effect.succeed(command.op === "get" ? machine.get(command.key) : machine.range(command.start, command.end, command.limit))
      )
  }
}
