/**
 * One topic: its settings (changed here with the admin's key), per
 * partition its replicas, where its log starts and ends (the high
 * watermark: the next offset to be written) and on request its newest
 * records, the consumer groups reading it with their lag, and a form that
 * produces a record.
 */
import { useEffect, useState } from "preact/hooks"
import { type Fetched, getTopic, type GroupView, latestRecords, listGroups, type LogRecord, type Topic } from "../api/log.ts"
import { formatBytes } from "../format.ts"
import { ErrorMessage, messageOf } from "../messages.tsx"
import { href } from "../route.ts"
import { StateBadge } from "./groups.tsx"
import { ProduceForm } from "./topic-produce.tsx"
import { TopicSettingsForm } from "./topic-settings.tsx"
import { formatRetention } from "./topics.tsx"

const NEWEST = 20

/** A key or value as text; bytes that are not UTF-8 are shown as base64, marked so. */
const shown = (text: string | null | undefined, base64: string | undefined): string =>
  base64 !== undefined ? `base64:${base64}` : text === null || text === undefined ? "(null)" : text

const RecordsTable = ({ topic, partition, fetched }: { readonly topic: string; readonly partition: number; readonly fetched: Fetched }) =>
  fetched.records.length === 0
    ? <p>No records in partition {partition}.</p>
    : (
      <div class="table-wrap">
        <table>
          <caption>Newest records of {topic}/{partition}</caption>
          <thead><tr><th scope="col">Offset</th><th scope="col">Time</th><th scope="col">Key</th><th scope="col">Value</th><th scope="col">Headers</th></tr></thead>
          <tbody>
            {fetched.records.map((r: LogRecord) => (
              <tr key={r.offset}>
                <th scope="row">{r.offset}</th>
                <td>{new Date(r.timestamp).toLocaleString()}</td>
                <td><code>{shown(r.key, r.keyBase64)}</code></td>
                <td><code>{shown(r.value, r.valueBase64)}</code></td>
                <td>{(r.headers ?? []).map((h, i) => <code key={i}>{h.key}={shown(h.value, h.valueBase64)} </code>)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )

const PartitionRow = ({ topic, partition, replicas, version, onOpen }: {
  readonly topic: string
  readonly partition: number
  readonly replicas: ReadonlyArray<string>
  /** Grows when a record is produced from the page: the bounds are read again. */
  readonly version: number
  readonly onOpen: (partition: number, fetched: Fetched) => void
}) => {
  const [bounds, setBounds] = useState<Fetched | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const load = () => latestRecords(topic, partition, NEWEST).then((f) => (setBounds(f), setError(undefined), f), (e) => (setError(messageOf(e)), undefined))
  useEffect(() => void load(), [topic, partition, version])
  const open = async () => {
    const fetched = await load()
    if (fetched !== undefined) onOpen(partition, fetched)
  }
  return (
    <tr>
      <th scope="row">{partition}</th>
      <td>{replicas.join(", ")}</td>
      <td>{bounds === undefined ? (error === undefined ? "…" : "—") : bounds.logStartOffset}</td>
      <td>{bounds === undefined ? (error === undefined ? "…" : "—") : bounds.highWatermark}</td>
      <td>
        {error !== undefined
          ? <span class="badge bad" title={error}>unavailable</span>
          : bounds === undefined ? "…" : <span class="badge good">serving</span>}
      </td>
      <td><button type="button" class="small" onClick={open} aria-label={`Show the newest records of partition ${partition}`}>Newest records</button></td>
    </tr>
  )
}

/** The consumer groups with offsets in this topic or members on it, and their lag on it. */
const TopicGroups = ({ topic, version }: { readonly topic: string; readonly version: number }) => {
  const [groups, setGroups] = useState<ReadonlyArray<GroupView> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => void listGroups(topic).then((g) => (setGroups(g), setError(undefined)), (e) => setError(messageOf(e))), [topic, version])
  return (
    <>
      <h2 id="topic-groups-title">Consumer groups</h2>
      <ErrorMessage error={error} />
      {groups === undefined ? (error === undefined ? <p>Loading…</p> : null) : groups.length === 0 ? <p>No consumer group reads {topic}.</p> : (
        <div class="table-wrap">
          <table aria-labelledby="topic-groups-title">
            <thead>
              <tr><th scope="col">Group</th><th scope="col">State</th><th scope="col">Members</th><th scope="col">Partitions</th><th scope="col">Lag on {topic}</th></tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr key={g.group}>
                  <th scope="row"><a href={href({ page: "group", group: g.group })}>{g.group}</a></th>
                  <td><StateBadge state={g.state} /></td>
                  <td>{g.members.length}</td>
                  <td>{g.partitions.map((p) => p.partition).join(", ")}</td>
                  <td data-testid={`topic-lag-${g.group}`}>{g.totalLag}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  )
}

export const TopicDetails = ({ topic, admin }: { readonly topic: string; readonly admin: boolean }) => {
  const [meta, setMeta] = useState<Topic | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [opened, setOpened] = useState<{ readonly partition: number; readonly fetched: Fetched } | undefined>(undefined)
  const [version, setVersion] = useState(0)
  useEffect(() => {
    setOpened(undefined)
    getTopic(topic).then(setMeta, (e) => setError(messageOf(e)))
  }, [topic])

  return (
    <section aria-labelledby="topic-title">
      <p><a href={href({ page: "topics" })}>← Topics</a></p>
      <h1 id="topic-title">Topic {topic}</h1>
      <ErrorMessage error={error} />
      {meta === undefined ? (error === undefined ? <p>Loading…</p> : null) : (
        <>
          <dl class="facts">
            <dt>Partitions</dt><dd>{meta.partitions}</dd>
            <dt>Replicas per partition</dt><dd>{meta.replicationFactor}</dd>
            <dt>Retention by age</dt><dd>{formatRetention(meta.retentionMs)}</dd>
            <dt>Retention by size</dt><dd>{meta.retentionBytes === undefined ? "none" : `${formatBytes(meta.retentionBytes)} per partition`}</dd>
            <dt>Cleanup policy</dt><dd>delete (whole old segments; compaction is not built)</dd>
            <dt>Largest batch</dt><dd>{formatBytes(meta.maxMessageBytes)}</dd>
            <dt>Segment size</dt><dd>{formatBytes(meta.segmentBytes)}</dd>
          </dl>
          <div class="table-wrap">
            <table>
              <caption>Partitions</caption>
              <thead>
                <tr>
                  <th scope="col">Partition</th><th scope="col">Replicas</th><th scope="col">Log start</th>
                  <th scope="col">High watermark</th><th scope="col">Health</th><th scope="col">Records</th>
                </tr>
              </thead>
              <tbody>
                {meta.replicas.map((replicas, p) => (
                  <PartitionRow key={p} topic={topic} partition={p} replicas={replicas} version={version} onOpen={(partition, fetched) => setOpened({ partition, fetched })} />
                ))}
              </tbody>
            </table>
          </div>
          {opened === undefined ? null : <RecordsTable topic={topic} partition={opened.partition} fetched={opened.fetched} />}
          <TopicGroups topic={topic} version={version} />
          <div class="topic-panels">
            <ProduceForm topic={topic} partitions={meta.partitions} onProduced={() => setVersion((v) => v + 1)} />
            {admin
              ? <TopicSettingsForm topic={meta} onChanged={(t) => (setMeta(t), setVersion((v) => v + 1))} />
              : <p class="summary">The admin's key changes a topic's retention and partitions.</p>}
          </div>
        </>
      )}
    </section>
  )
}
