/**
 * The real-cluster nemesis: draws a seeded schedule of faults in the Jepsen
 * vocabulary (`generateSchedule`) and applies each one with real controls —
 * nftables partitions in the node namespaces, SIGKILL and restart,
 * SIGSTOP/SIGCONT, a libfaketime wall-clock offset — recording
 * `start-*`/`stop-*` nemesis ops in the history and, for each fault, what
 * was observed to confirm it took effect.
 */
import { cutLinks, describeFault, generateSchedule, type Fault, type FaultKind } from "@cairn/jepsen"
import type { Recorder } from "./client.ts"
import { baseUrl } from "./client.ts"
import type { Hosts } from "./hosts.ts"
import type { Servers } from "./servers.ts"

/** The `--nemesis` names and the vocabulary's kinds they stand for. */
export const nemesisNames: Record<string, FaultKind> = { partition: "partition", kill: "kill", pause: "pause", clock: "clock-skew" }

/** mulberry32: a small seeded PRNG over [0, 1). */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The faults of a run: a pure function of the seed, the nodes, the length
 * and the kinds, so `--seed` reproduces the schedule. Fault lengths and gaps
 * scale with the run (a tenth of it each, 1-5 s).
 */
export const planFaults = (seed: number, nodes: ReadonlyArray<string>, durationMs: number, kinds: ReadonlyArray<FaultKind>): ReadonlyArray<Fault> => {
  if (kinds.length === 0) return []
  const mean = Math.min(5_000, Math.max(1_000, durationMs / 10))
  // Leave the last stretch fault-free so every fault has healed before the clients stop.
  return generateSchedule(seededRandom(seed), { nodes, duration: Math.max(0, durationMs - 1_000), faultKinds: kinds, meanGap: mean, meanFault: mean, processes: 0 }).faults
}

export interface AppliedFault {
  readonly fault: Fault
  /** Test time (ms) it was applied and undone. */
  readonly start: number
  readonly end: number
  /** What was observed when applying it (e.g. `n2 SIGKILL, restarted`, `n3 state T`). */
  readonly evidence: string
  /** True when the observation confirms the fault was in force (a SIGKILL exit, state T, drop rules, the clock offset). */
  readonly confirmed: boolean
  /** Partitions: packets the drop rules dropped while in force. */
  readonly packetsDropped?: number
}

const sleepUntil = (recorder: Recorder, ms: number, signal: AbortSignal) =>
  new Promise<void>((r) => {
    const wait = ms - recorder.now() / 1e6
    if (signal.aborted || wait <= 0) return r()
    const t = setTimeout(r, wait)
    signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true })
  })

/** The wall-clock offset a node shows, from its HTTP `Date` header (1 s resolution). */
const observedOffsetMs = async (servers: Servers, id: string): Promise<number | undefined> => {
  const before = Date.now()
  try {
    const r = await fetch(`${baseUrl(servers.host(id))}/health`, { signal: AbortSignal.timeout(2000) })
    await r.text()
    const date = r.headers.get("date")
    return date === null ? undefined : Date.parse(date) - (before + Date.now()) / 2
  } catch {
    return undefined
  }
}

export const runNemesis = async (o: {
  readonly faults: ReadonlyArray<Fault>
  readonly hosts: Hosts
  readonly servers: Servers
  readonly recorder: Recorder
  readonly signal: AbortSignal
  readonly log: (line: string) => void
}): Promise<Array<AppliedFault>> => {
  const { servers, recorder, signal } = o
  const applied: Array<AppliedFault> = []
  const ids = servers.ids
  for (const fault of o.faults) {
    await sleepUntil(recorder, fault.start, signal)
    if (signal.aborted) break
    const label = describeFault(fault)
    const start = recorder.now() / 1e6
    recorder.record({ process: "nemesis", type: "info", f: `start-${fault.kind}`, value: label })
    let evidence = ""
    let confirmed = false
    let packetsDropped: number | undefined
    let undo: () => Promise<string> = async () => ""
    switch (fault.kind) {
      case "partition": {
        const links = cutLinks(fault.shape, ids)
        const { rules } = await o.hosts.cut(links)
        evidence = `${links.length} directed links cut, ${rules} drop rules in force`
        // Applied when the rules are in force; the rules' counters, read at the heal, say how many packets they dropped
        // (possibly none: a node still restarting sends nothing).
        confirmed = links.length === 0 || rules > 0
        undo = async () => {
          const healed = await o.hosts.cut([])
          packetsDropped = healed.droppedBefore
          evidence += `, ${healed.droppedBefore} packets dropped`
          return `${healed.droppedBefore} packets dropped, ${healed.rules} rules after heal`
        }
        break
      }
      case "kill": {
        const how = await Promise.all(fault.nodes.map(async (n) => `${n} ${await servers.kill(n)}`))
        evidence = how.join(", ")
        confirmed = how.every((h) => h.endsWith("SIGKILL"))
        undo = async () => {
          for (const n of fault.nodes) servers.restart(n)
          return `restarted ${fault.nodes.join(",")}`
        }
        break
      }
      case "pause": {
        const states = await Promise.all(fault.nodes.map(async (n) => `${n} state ${await servers.pause(n)}`))
        evidence = states.join(", ")
        confirmed = states.every((s) => s.endsWith(" T"))
        undo = async () => {
          for (const n of fault.nodes) servers.resume(n)
          return `resumed ${fault.nodes.join(",")}`
        }
        break
      }
      case "clock-skew": {
        servers.setClock(fault.node, fault.offsetMs)
        // libfaketime re-reads its offset file once its cache (1 s, counted in whole seconds) expires: look until the
        // offset shows (bounded). The Date header has 1 s resolution, so small offsets cannot be told from none.
        const matches = (seen: number | undefined) => seen !== undefined && (Math.abs(fault.offsetMs) < 2_000 || Math.abs(seen - fault.offsetMs) < 1_500)
        let seen: number | undefined
        for (let i = 0; i < 10 && !signal.aborted; i++) {
          await sleepUntil(recorder, recorder.now() / 1e6 + 500, signal)
          seen = await observedOffsetMs(servers, fault.node)
          if (matches(seen)) break
        }
        evidence = `${fault.node} wall clock offset ${seen === undefined ? "not observed" : `~${Math.round(seen)} ms`} (asked ${fault.offsetMs} ms)`
        confirmed = matches(seen)
        undo = async () => {
          servers.setClock(fault.node, 0)
          return `${fault.node} clock reset`
        }
        break
      }
      default:
        evidence = `not supported by the real-cluster runner`
    }
    o.log(`nemesis ${(start / 1000).toFixed(1)}s: ${label}: ${evidence}`)
    await sleepUntil(recorder, fault.end, signal)
    const undone = await undo()
    const end = recorder.now() / 1e6
    recorder.record({ process: "nemesis", type: "info", f: `stop-${fault.kind}`, value: `${label}: ${undone}` })
    o.log(`nemesis ${(end / 1000).toFixed(1)}s: healed ${label} (${undone})`)
    applied.push({ fault, start, end, evidence, confirmed, ...(packetsDropped === undefined ? {} : { packetsDropped }) })
  }
  return applied
}

/** Undoes every fault that may still be in effect: partitions, pauses, kills, clocks. */
export const healAll = async (hosts: Hosts, servers: Servers): Promise<void> => {
  if (hosts.noPartitions === undefined) await hosts.cut([])
  for (const id of servers.ids) {
    if (servers.paused(id)) servers.resume(id)
    if (servers.clockFaults === undefined) servers.setClock(id, 0)
    if (!servers.running(id)) servers.restart(id)
  }
}
