/**
 * The test side of `kafkajs-consumers.child.ts`: starts the child in a
 * process group of its own, sends it commands, keeps every event it
 * reports, and kills the group in `stopConsumerProcesses` (an afterEach).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { createInterface } from "node:readline"
import { exited } from "../server/local-cluster.ts"

const childScript = fileURLToPath(new URL("./kafkajs-consumers.child.ts", import.meta.url))

export type ConsumerEvent =
  | { readonly event: "joined"; readonly member: number; readonly partitions: ReadonlyArray<number> }
  | { readonly event: "read"; readonly member: number; readonly partition: number; readonly offset: string; readonly value: string }
  | { readonly event: "crash"; readonly member: number; readonly error: string }
  | { readonly event: "stopped"; readonly member: number }
  | { readonly event: "failed"; readonly member: number; readonly error: string }

export interface ConsumerProcess {
  /** Every event so far, in arrival order. */
  readonly events: Array<ConsumerEvent>
  readonly start: (member: number, brokers: ReadonlyArray<string>, group: string, topic: string) => void
  readonly stop: (member: number) => void
  /** The crashes and failed commands so far, for a failing test's message. */
  readonly troubles: () => string
}

const running = new Set<ChildProcess>()

export const startConsumerProcess = (): ConsumerProcess => {
  const child = spawn(process.execPath, [childScript], { stdio: ["pipe", "pipe", "pipe"], detached: true })
  running.add(child)
  child.once("exit", () => running.delete(child))
  const events: Array<ConsumerEvent> = []
  let stderr = ""
  createInterface({ input: child.stdout! }).on("line", (line) => events.push(JSON.parse(line) as ConsumerEvent))
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
  const send = (command: Record<string, unknown>) => child.stdin!.write(`${JSON.stringify(command)}\n`)
  return {
    events,
    start: (member, brokers, group, topic) => send({ op: "start", member, brokers, group, topic }),
    stop: (member) => send({ op: "stop", member }),
    troubles: () =>
      JSON.stringify({
        troubles: events.filter((e) => e.event === "crash" || e.event === "failed"),
        exited: child.exitCode ?? child.signalCode,
        stderr: stderr.slice(-2_000)
      })
  }
}

/** SIGKILLs every consumer process group still running. */
export const stopConsumerProcesses = async (): Promise<void> => {
  const left = [...running]
  for (const c of left) {
    try {
      if (c.pid !== undefined) process.kill(-c.pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
  await Promise.all(left.map(exited))
}
