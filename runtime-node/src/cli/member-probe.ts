/**
 * Asks one member for its `/v1/status` (with the caller's own credentials),
 * within a short bound so that a dead member cannot stall a listing:
 * `cairn cluster list` and the console's cluster page both use it.
 */
import type { StatusProbe } from "./cluster-health.ts"

/** One member's `/v1/status`, within a short bound so that a dead member cannot stall the listing. */
export const probeStatus = async (auth: string, url: string): Promise<StatusProbe> => {
  try {
    const res = await fetch(url, { headers: { authorization: auth }, signal: AbortSignal.timeout(2000) })
    if (!res.ok) return { ok: false, error: `${url}: HTTP ${res.status}` }
    const body = await res.json() as Record<string, unknown>
    const num = (k: string) => (typeof body[k] === "number" ? body[k] : 0)
    return {
      ok: true,
      status: { role: String(body.role ?? "unknown"), term: num("term"), leader: typeof body.leader === "string" ? body.leader : null, commit: num("commit"), applied: num("applied") }
    }
  } catch (e) {
    return { ok: false, error: `${url}: ${(e as Error).message}` }
  }
}
