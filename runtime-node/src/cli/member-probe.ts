/**
 * Asks one member for its `/v1/status` (with the caller's own credentials),
 * within a short bound so that a dead member cannot stall a listing:
 * `cairn cluster list` and the console's cluster page both use it.
 */
import type { GroupStatus, MemberStatus, StatusProbe } from "./cluster-health.ts"

/** The fields of a `/v1/status` answer that the listing reads (absent numbers read as 0). */
export const memberStatusOf = (body: Record<string, unknown>): MemberStatus => {
  const num = (k: string) => (typeof body[k] === "number" ? body[k] : 0)
  return {
    role: String(body.role ?? "unknown"),
    term: num("term"),
    leader: typeof body.leader === "string" ? body.leader : null,
    commit: num("commit"),
    applied: num("applied"),
    disk: typeof body.disk === "string" ? body.disk : null,
    ...(Array.isArray(body.groups) ? { groups: body.groups.flatMap(groupStatusOf) } : {})
  }
}

/** One entry of `/v1/status`'s `groups`; an entry without a group name is dropped. */
const groupStatusOf = (entry: unknown): Array<GroupStatus> => {
  if (typeof entry !== "object" || entry === null) return []
  const g = entry as Record<string, unknown>
  if (typeof g.group !== "string") return []
  const num = (k: string) => (typeof g[k] === "number" ? g[k] : 0)
  return [{ group: g.group, name: typeof g.name === "string" ? g.name : g.group, role: String(g.role ?? "unknown"), leader: typeof g.leader === "string" ? g.leader : null, term: num("term"), commit: num("commit"), applied: num("applied") }]
}

/** One member's `/v1/status`, within a short bound so that a dead member cannot stall the listing. */
export const probeStatus = async (auth: string, url: string): Promise<StatusProbe> => {
  try {
    const res = await fetch(url, { headers: { authorization: auth }, signal: AbortSignal.timeout(2000) })
    if (!res.ok) return { ok: false, error: `${url}: HTTP ${res.status}` }
    return { ok: true, status: memberStatusOf(await res.json() as Record<string, unknown>) }
  } catch (e) {
    return { ok: false, error: `${url}: ${(e as Error).message}` }
  }
}
