/**
 * The nemesis vocabulary: faults as plain data with start and end times
 * (milliseconds of test time). The simulator and the real-cluster runner
 * apply them; the report shades them; nothing here performs anything.
 */

export type NodeId = string

/** Who cannot talk to whom. */
export type PartitionShape =
  /** One node cut off from all others. */
  | { readonly type: "isolate"; readonly node: NodeId }
  /** Two sides; no link crosses. */
  | { readonly type: "halves"; readonly sides: readonly [ReadonlyArray<NodeId>, ReadonlyArray<NodeId>] }
  /** Several groups; links only inside a group. */
  | { readonly type: "groups"; readonly groups: ReadonlyArray<ReadonlyArray<NodeId>> }
  /** Messages from `from` to `to` are dropped; the reverse direction works. */
  | { readonly type: "one-way"; readonly from: ReadonlyArray<NodeId>; readonly to: ReadonlyArray<NodeId> }
  /** Two sides that both still reach one bridge node (Jepsen's "bridge"). */
  | { readonly type: "bridge"; readonly bridge: NodeId; readonly sides: readonly [ReadonlyArray<NodeId>, ReadonlyArray<NodeId>] }

export type DiskFaultKind = "read-error" | "write-error" | "corruption" | "torn-write" | "fsync-failure" | "full" | "slow"

export type Fault =
  | { readonly kind: "partition"; readonly shape: PartitionShape; readonly start: number; readonly end: number }
  /** Crash: volatile state and unsynced writes are lost; restarts at `end`. */
  | { readonly kind: "kill"; readonly nodes: ReadonlyArray<NodeId>; readonly start: number; readonly end: number }
  /** SIGSTOP-like: the process stops and resumes at `end` with its state. */
  | { readonly kind: "pause"; readonly nodes: ReadonlyArray<NodeId>; readonly start: number; readonly end: number }
  | { readonly kind: "clock-skew"; readonly node: NodeId; readonly offsetMs: number; readonly start: number; readonly end: number }
  | {
      readonly kind: "disk-fault"
      readonly node: NodeId
      readonly fault: DiskFaultKind
      /** Probability per operation, for error kinds. */
      readonly rate: number
      readonly start: number
      readonly end: number
    }
  /** A node leaves (remove) or joins (add) the cluster at `start`; `end` is when the change must be done. */
  | { readonly kind: "membership"; readonly change: "add" | "remove"; readonly node: NodeId; readonly start: number; readonly end: number }
  /** Messages from `from` to `to` are held, not dropped, and delivered in order at `end` (a stalled TCP link). */
  | { readonly kind: "clog"; readonly from: NodeId; readonly to: NodeId; readonly start: number; readonly end: number }
  /** The link between two nodes goes down and up again at random moments until `end`. */
  | { readonly kind: "flapping"; readonly nodes: readonly [NodeId, NodeId]; readonly start: number; readonly end: number }

export type FaultKind = Fault["kind"]
export const faultKinds: ReadonlyArray<FaultKind> = ["partition", "kill", "pause", "clock-skew", "disk-fault", "membership", "clog", "flapping"]

/** What a report shades: a kind and an interval. */
export interface FaultInterval {
  readonly kind: string
  readonly start: number
  readonly end: number
  readonly label?: string
}

export const describeShape = (s: PartitionShape): string => {
  const g = (xs: ReadonlyArray<NodeId>) => `{${xs.join(",")}}`
  switch (s.type) {
    case "isolate":
      return `isolate ${s.node}`
    case "halves":
      return `${g(s.sides[0])} | ${g(s.sides[1])}`
    case "groups":
      return s.groups.map(g).join(" | ")
    case "one-way":
      return `${g(s.from)} -/-> ${g(s.to)}`
    case "bridge":
      return `${g(s.sides[0])} | ${g(s.sides[1])} via ${s.bridge}`
  }
}

export const describeFault = (f: Fault): string => {
  switch (f.kind) {
    case "partition":
      return `partition ${describeShape(f.shape)}`
    case "kill":
    case "pause":
      return `${f.kind} ${f.nodes.join(",")}`
    case "clock-skew":
      return `clock-skew ${f.node} ${f.offsetMs > 0 ? "+" : ""}${f.offsetMs}ms`
    case "disk-fault":
      return `disk ${f.fault} on ${f.node} (rate ${f.rate})`
    case "membership":
      return `${f.change} ${f.node}`
    case "clog":
      return `clog ${f.from} -> ${f.to}`
    case "flapping":
      return `flapping ${f.nodes[0]} <-> ${f.nodes[1]}`
  }
}

const shapeNodes = (s: PartitionShape): ReadonlyArray<NodeId> => {
  switch (s.type) {
    case "isolate":
      return [s.node]
    case "halves":
      return [...s.sides[0], ...s.sides[1]]
    case "groups":
      return s.groups.flat()
    case "one-way":
      return [...s.from, ...s.to]
    case "bridge":
      return [s.bridge, ...s.sides[0], ...s.sides[1]]
  }
}

/** The nodes a fault names (a partition: every node its shape mentions). */
export const faultNodes = (f: Fault): ReadonlyArray<NodeId> => {
  switch (f.kind) {
    case "partition":
      return shapeNodes(f.shape)
    case "kill":
    case "pause":
    case "flapping":
      return f.nodes
    case "clock-skew":
    case "disk-fault":
    case "membership":
      return [f.node]
    case "clog":
      return [f.from, f.to]
  }
}

/**
 * What is wrong with `f` as a fault on a cluster of `nodes` (empty: nothing):
 * times that are not finite or run backwards, unknown or repeated nodes, a
 * link from a node to itself, a rate outside [0, 1].
 */
export const faultProblems = (f: Fault, nodes: ReadonlyArray<NodeId>): Array<string> => {
  const problems: Array<string> = []
  if (!Number.isFinite(f.start) || !Number.isFinite(f.end) || f.end < f.start) problems.push(`bad interval [${f.start}, ${f.end}]`)
  const named = faultNodes(f)
  for (const n of named) if (!nodes.includes(n)) problems.push(`unknown node ${n}`)
  if (new Set(named).size !== named.length) problems.push("a node appears twice")
  if (f.kind === "clog" && f.from === f.to) problems.push("a clog from a node to itself")
  if (f.kind === "flapping" && f.nodes[0] === f.nodes[1]) problems.push("a flapping link from a node to itself")
  if ((f.kind === "kill" || f.kind === "pause") && f.nodes.length === 0) problems.push(`${f.kind} of no node`)
  if (f.kind === "disk-fault" && !(f.rate >= 0 && f.rate <= 1)) problems.push(`rate ${f.rate} outside [0, 1]`)
  return problems
}

export const toIntervals = (faults: ReadonlyArray<Fault>): Array<FaultInterval> =>
  faults.map((f) => ({ kind: f.kind, start: f.start, end: f.end, label: describeFault(f) }))

/**
 * The directed links a partition cuts, as [from, to] pairs over `nodes`.
 * A link is cut when the shape says the two cannot talk in that direction.
 */
export const cutLinks = (shape: PartitionShape, nodes: ReadonlyArray<NodeId>): Array<readonly [NodeId, NodeId]> => {
  const sideOf = (groups: ReadonlyArray<ReadonlyArray<NodeId>>) => {
    const m = new Map<NodeId, number>()
    groups.forEach((g, i) => g.forEach((n) => m.set(n, i)))
    return m
  }
  const connected = (a: NodeId, b: NodeId): boolean => {
    switch (shape.type) {
      case "isolate":
        return a !== shape.node && b !== shape.node
      case "halves":
      case "groups": {
        const groups = shape.type === "halves" ? shape.sides : shape.groups
        const m = sideOf(groups)
        return m.get(a) === m.get(b)
      }
      case "one-way":
        return !(shape.from.includes(a) && shape.to.includes(b))
      case "bridge": {
        if (a === shape.bridge || b === shape.bridge) return true
        const m = sideOf(shape.sides)
        return m.get(a) === m.get(b)
      }
    }
  }
  const out: Array<readonly [NodeId, NodeId]> = []
  for (const a of nodes) for (const b of nodes) if (a !== b && !connected(a, b)) out.push([a, b])
  return out
}
