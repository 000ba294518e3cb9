/**
 * A seeded test schedule: a mix of faults and a client workload over one
 * timeline, Jepsen-style. Swarm testing: each schedule enables a random
 * subset of fault kinds. Pure: all randomness comes from `random` ([0, 1)).
 */
import type { Value } from "../history/op.ts"
import type { Fault, FaultKind, NodeId, PartitionShape } from "./fault.ts"
import { faultKinds } from "./fault.ts"

export interface ClientInvocation {
  /** When the client issues the op, ms of test time. */
  readonly time: number
  readonly process: number
  readonly f: string
  readonly value: Value
}

export interface Schedule {
  readonly faults: ReadonlyArray<Fault>
  readonly workload: ReadonlyArray<ClientInvocation>
  /** The fault kinds this schedule drew from. */
  readonly enabled: ReadonlyArray<FaultKind>
}

export interface ScheduleOptions {
  readonly nodes: ReadonlyArray<NodeId>
  /** Test length in ms. */
  readonly duration: number
  /** Restrict to these fault kinds; default: a random non-empty subset (swarm). */
  readonly faultKinds?: ReadonlyArray<FaultKind>
  /** Mean quiet time between faults, ms. */
  readonly meanGap?: number
  /** Mean fault length, ms. */
  readonly meanFault?: number
  readonly processes?: number
  /** Mean time between ops of one process, ms. */
  readonly meanThink?: number
  /** Workload: the ops and how to make a value for each. */
  readonly workload?: "register" | "cas-register" | "kv" | "list-append" | "set" | "queue"
  readonly keys?: number
}

const shuffle = <T>(random: () => number, xs: ReadonlyArray<T>): Array<T> => {
  const a = [...xs]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}

export const randomShape = (random: () => number, nodes: ReadonlyArray<NodeId>): PartitionShape => {
  const pick = <T>(xs: ReadonlyArray<T>) => xs[Math.floor(random() * xs.length)]!
  const mixed = shuffle(random, nodes)
  const half = Math.floor(nodes.length / 2)
  switch (Math.floor(random() * 5)) {
    case 0:
      return { type: "isolate", node: pick(nodes) }
    case 1:
      return { type: "halves", sides: [mixed.slice(0, half), mixed.slice(half)] }
    case 2: {
      const k = 2 + Math.floor(random() * Math.max(1, nodes.length - 1))
      const groups: Array<Array<NodeId>> = Array.from({ length: Math.min(k, nodes.length) }, () => [])
      mixed.forEach((n, i) => groups[i % groups.length]!.push(n))
      return { type: "groups", groups }
    }
    case 3:
      return { type: "one-way", from: mixed.slice(0, half), to: mixed.slice(half) }
    default: {
      const [bridge, ...rest] = mixed
      const h = Math.floor(rest.length / 2)
      return { type: "bridge", bridge: bridge!, sides: [rest.slice(0, h), rest.slice(h)] }
    }
  }
}

const exp = (random: () => number, mean: number) => -Math.log(1 - random()) * mean

const makeFault = (random: () => number, kind: FaultKind, nodes: ReadonlyArray<NodeId>, start: number, end: number): Fault => {
  const pick = () => nodes[Math.floor(random() * nodes.length)]!
  const minority = () => shuffle(random, nodes).slice(0, 1 + Math.floor(random() * Math.max(1, Math.floor((nodes.length - 1) / 2))))
  switch (kind) {
    case "partition":
      return { kind, shape: randomShape(random, nodes), start, end }
    case "kill":
    case "pause":
      return { kind, nodes: minority(), start, end }
    case "clock-skew":
      return { kind, node: pick(), offsetMs: Math.round((random() * 2 - 1) * 10_000), start, end }
    case "disk-fault": {
      const kinds = ["read-error", "write-error", "corruption", "torn-write", "fsync-failure", "full", "slow"] as const
      return { kind, node: pick(), fault: kinds[Math.floor(random() * kinds.length)]!, rate: Math.round(random() * 100) / 1000, start, end }
    }
    case "membership":
      return { kind, change: random() < 0.5 ? "remove" : "add", node: pick(), start, end }
    case "clog":
    case "flapping": {
      const [a, b] = shuffle(random, nodes)
      // With a single node there is no link: a clog of nothing would be meaningless, so pause it instead.
      if (b === undefined) return { kind: "pause", nodes: [a!], start, end }
      return kind === "clog" ? { kind, from: a!, to: b, start, end } : { kind, nodes: [a!, b], start, end }
    }
  }
}

const invocation = (random: () => number, workload: NonNullable<ScheduleOptions["workload"]>, keys: number, seq: number): { f: string; value: Value } => {
  const r = random()
  const v = Math.floor(random() * 5)
  const key = Math.floor(random() * keys)
  switch (workload) {
    case "register":
      return r < 0.5 ? { f: "read", value: null } : { f: "write", value: v }
    case "cas-register":
      return r < 0.4 ? { f: "read", value: null } : r < 0.7 ? { f: "write", value: v } : { f: "cas", value: [v, Math.floor(random() * 5)] }
    case "kv":
      return r < 0.4 ? { f: "read", value: [key, null] } : r < 0.7 ? { f: "write", value: [key, v] } : { f: "cas", value: [key, [v, Math.floor(random() * 5)]] }
    case "list-append":
      return r < 0.5 ? { f: "read", value: null } : { f: "append", value: seq }
    case "set":
      return r < 0.2 ? { f: "read", value: null } : { f: "add", value: seq }
    case "queue":
      return r < 0.5 ? { f: "dequeue", value: null } : { f: "enqueue", value: seq }
  }
}

/** Draws a schedule. Faults do not overlap one another; the last one ends before `duration`. */
export const generateSchedule = (random: () => number, options: ScheduleOptions): Schedule => {
  const enabled =
    options.faultKinds ??
    (() => {
      const subset = faultKinds.filter(() => random() < 0.5)
      return subset.length > 0 ? subset : [faultKinds[Math.floor(random() * faultKinds.length)]!]
    })()
  const meanGap = options.meanGap ?? 5_000
  const meanFault = options.meanFault ?? 5_000
  const faults: Array<Fault> = []
  let t = exp(random, meanGap)
  while (enabled.length > 0) {
    const len = Math.max(1, Math.round(exp(random, meanFault)))
    const start = Math.round(t)
    if (start + len >= options.duration) break
    faults.push(makeFault(random, enabled[Math.floor(random() * enabled.length)]!, options.nodes, start, start + len))
    t = start + len + exp(random, meanGap)
  }
  const processes = options.processes ?? 5
  const meanThink = options.meanThink ?? 100
  const workload: Array<ClientInvocation> = []
  let seq = 0
  for (let p = 0; p < processes; p++) {
    let at = exp(random, meanThink)
    while (at < options.duration) {
      workload.push({ time: Math.round(at), process: p, ...invocation(random, options.workload ?? "cas-register", options.keys ?? 1, seq++) })
      at += exp(random, meanThink)
    }
  }
  workload.sort((a, b) => a.time - b.time || a.process - b.process)
  return { faults, workload, enabled }
}
