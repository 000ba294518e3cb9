/**
 * Consumer groups of the streaming log: each group's state, assignor,
 * members, generation and total lag (records committed to its partitions
 * that it has not committed past), read through the log API's
 * `/v1/log/groups` with the signed-in user's key. Pieces shared with a
 * group's page and a topic's page live here too.
 */
import { useEffect, useState } from "preact/hooks"
import { type GroupPartitionView, type GroupView, listGroups } from "../api/log.ts"
import { ErrorMessage, messageOf } from "../messages.tsx"
import { href } from "../route.ts"

export const StateBadge = ({ state }: { readonly state: GroupView["state"] }) => (
  <span class={`badge ${state === "Stable" ? "good" : state === "CompletingRebalance" ? "warn" : ""}`}>{state === "CompletingRebalance" ? "rebalancing" : state}</span>
)

/** The topics a group has offsets in or members on, in order. */
export const topicsOf = (g: GroupView): ReadonlyArray<string> => [...new Set(g.partitions.map((p) => p.topic))]

const lagText = (p: GroupPartitionView): string => (p.lag !== null ? String(p.lag) : p.offset === null ? "no commit" : "unknown")

/** Per partition: committed offset, high watermark, lag and owner. */
export const PartitionLagTable = ({ caption, partitions }: { readonly caption: string; readonly partitions: ReadonlyArray<GroupPartitionView> }) =>
  partitions.length === 0
    ? <p>No committed offsets and no assigned partitions.</p>
    : (
      <div class="table-wrap">
        <table>
          <caption>{caption}</caption>
          <thead>
            <tr>
              <th scope="col">Topic</th><th scope="col">Partition</th><th scope="col">Committed offset</th>
              <th scope="col">High watermark</th><th scope="col">Lag</th><th scope="col">Member</th>
            </tr>
          </thead>
          <tbody>
            {partitions.map((p) => (
              <tr key={`${p.topic}/${p.partition}`} data-testid={`lag-${p.topic}-${p.partition}`}>
                <td><a href={href({ page: "topic", topic: p.topic })}>{p.topic}</a></td>
                <th scope="row">{p.partition}</th>
                <td>{p.offset ?? "—"}</td>
                <td>{p.highWatermark ?? <span class="badge bad" title={p.error}>unavailable</span>}</td>
                <td>{lagText(p)}</td>
                <td><code>{p.memberId ?? "—"}</code></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )

export const Groups = () => {
  const [groups, setGroups] = useState<ReadonlyArray<GroupView> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const load = () => listGroups().then((g) => (setGroups(g), setError(undefined)), (e) => setError(messageOf(e)))
  useEffect(() => void load(), [])
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Consumer groups</h1>
      <p class="summary">
        Kafka consumer groups and groups that committed offsets through <code>/v1/log</code>. Members are those of the
        group's last completed rebalance; lag is the high watermark minus the committed offset.
      </p>
      <div class="inline"><button type="button" onClick={() => void load()}>Refresh</button></div>
      <ErrorMessage error={error} />
      {groups === undefined
        ? (error === undefined ? <p>Loading…</p> : null)
        : groups.length === 0
        ? <p>No consumer groups yet: a Kafka consumer with a group id, or an offset committed through the log API, makes one.</p>
        : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Consumer groups</caption>
              <thead>
                <tr>
                  <th scope="col">Group</th><th scope="col">State</th><th scope="col">Assignor</th><th scope="col">Members</th>
                  <th scope="col">Generation</th><th scope="col">Topics</th><th scope="col">Total lag</th>
                </tr>
              </thead>
              <tbody>
                {groups.map((g) => (
                  <tr key={g.group}>
                    <th scope="row"><a href={href({ page: "group", group: g.group })}>{g.group}</a></th>
                    <td><StateBadge state={g.state} /></td>
                    <td>{g.protocol ?? "—"}</td>
                    <td>{g.members.length}</td>
                    <td>{g.generation}</td>
                    <td>{topicsOf(g).join(", ")}</td>
                    <td data-testid={`total-lag-${g.group}`}>{g.totalLag}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </section>
  )
}
