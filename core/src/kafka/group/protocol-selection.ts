/**
 * Which protocol a group uses (Kafka's GroupMetadata.supportsProtocols and
 * selectProtocol): a candidate is a protocol every member supports; each
 * member votes for the candidate it prefers most; the most votes win, ties
 * going to the candidate the leader prefers (Kafka breaks ties arbitrarily;
 * Cairn's rule is deterministic so every run decides the same).
 */
import { assert } from "../../invariant/invariant.ts"
import type { Group, Protocol } from "./group.ts"

/** Protocols supported by every member of `group` (and by `joining`, when given). */
const candidates = (group: Group, joining?: ReadonlyArray<Protocol>): ReadonlyArray<string> => {
  const lists = [...group.members.values()].map((m) => m.protocols)
  if (joining !== undefined) lists.push(joining)
  if (lists.length === 0) return []
  return lists[0]!.map((p) => p.name).filter((name) => lists.every((list) => list.some((p) => p.name === name)))
}

/**
 * May a member with this protocol type and these protocols join? An empty
 * group takes any non-empty type and list; otherwise the type must match
 * and one of the protocols must be supported by every current member.
 */
export const supportsProtocols = (group: Group, protocolType: string, protocols: ReadonlyArray<Protocol>): boolean => {
  if (group.members.size === 0) return protocolType.length > 0 && protocols.length > 0
  if (group.protocolType !== protocolType) return false
  return protocols.some((p) => [...group.members.values()].every((m) => m.protocols.some((q) => q.name === p.name)))
}

export const selectProtocol = (group: Group): string => {
  const names = candidates(group)
  assert(names.length > 0, () => `group ${group.groupId}: no protocol every member supports`)
  const votes = new Map<string, number>(names.map((n) => [n, 0]))
  for (const m of group.members.values()) {
    const choice = m.protocols.find((p) => votes.has(p.name))!.name
    votes.set(choice, votes.get(choice)! + 1)
  }
  const leaderOrder = group.members.get(group.leader ?? "")?.protocols.map((p) => p.name) ?? names
  const rank = (name: string) => {
    const i = leaderOrder.indexOf(name)
    return i < 0 ? leaderOrder.length : i
  }
  return [...names].sort((a, b) => votes.get(b)! - votes.get(a)! || rank(a) - rank(b))[0]!
}
