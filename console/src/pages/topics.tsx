/** The streaming log's topics: list, create and delete (the admin's key), open one. */
import { useEffect, useState } from "preact/hooks"
import { createTopic, deleteTopic, listTopics, type Topic } from "../api/log.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"
import { href } from "../route.ts"

/** Retention as people say it ("7 d", "12 h"), or "forever". */
export const formatRetention = (ms: number | undefined): string => {
  if (ms === undefined) return "forever"
  const units: ReadonlyArray<readonly [number, string]> = [[86_400_000, "d"], [3_600_000, "h"], [60_000, "min"], [1000, "s"]]
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`
  return `${ms} ms`
}

const TopicRow = ({ topic, admin, onChanged, onError }: {
  readonly topic: Topic
  readonly admin: boolean
  readonly onChanged: (notice: string) => void
  readonly onError: (e: string) => void
}) => {
  const [confirming, setConfirming] = useState(false)
  const remove = async () => {
    try {
      await deleteTopic(topic.name)
      onChanged(`Deleted topic ${topic.name} and its records.`)
    } catch (e) {
      setConfirming(false)
      onError(messageOf(e))
    }
  }
  return (
    <tr>
      <th scope="row"><a href={href({ page: "topic", topic: topic.name })}>{topic.name}</a></th>
      <td>{topic.partitions}</td>
      <td>{topic.replicationFactor}</td>
      <td>{formatRetention(topic.retentionMs)}</td>
      {admin
        ? (
          <td>
            {confirming
              ? (
                <span role="group" aria-label={`Confirm deleting ${topic.name}`}>
                  Delete {topic.name} and all its records? <button type="button" class="small danger" onClick={remove}>Delete</button>{" "}
                  <button type="button" class="small" onClick={() => setConfirming(false)}>Cancel</button>
                </span>
              )
              : <button type="button" class="small" onClick={() => setConfirming(true)} aria-label={`Delete topic ${topic.name}`}>Delete…</button>}
          </td>
        )
        : null}
    </tr>
  )
}

const CreateTopicForm = ({ onCreated, onError }: { readonly onCreated: (name: string) => void; readonly onError: (e: string) => void }) => {
  const [name, setName] = useState("")
  const [partitions, setPartitions] = useState("3")
  const [replication, setReplication] = useState("")
  const create = async (e: Event) => {
    e.preventDefault()
    try {
      const rf = replication.trim() === "" ? {} : { replicationFactor: Number(replication) }
      await createTopic({ name: name.trim(), partitions: Number(partitions), ...rf })
      onCreated(name.trim())
      setName("")
    } catch (err) {
      onError(messageOf(err))
    }
  }
  return (
    <form class="inline" onSubmit={create}>
      <label for="new-topic">New topic</label>
      <input id="new-topic" value={name} required onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. events" />
      <label for="new-topic-partitions">Partitions</label>
      <input id="new-topic-partitions" type="number" min="1" max="1024" value={partitions} required onInput={(e) => setPartitions(e.currentTarget.value)} />
      <label for="new-topic-rf">Replicas</label>
      <input id="new-topic-rf" type="number" min="1" value={replication} placeholder="default" onInput={(e) => setReplication(e.currentTarget.value)} />
      <button type="submit">Create topic</button>
    </form>
  )
}

export const Topics = ({ admin }: { readonly admin: boolean }) => {
  const [topics, setTopics] = useState<ReadonlyArray<Topic> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const load = () => listTopics().then(setTopics, (e) => setError(messageOf(e)))
  useEffect(() => void load(), [])
  const changed = (text: string) => {
    setError(undefined)
    setNotice(text)
    void load()
  }

  return (
    <section aria-labelledby="topics-title">
      <h1 id="topics-title">Topics</h1>
      <p class="summary">The streaming log's topics (docs/log.md). Kafka clients and <code>cairn log</code> read and write them.</p>
      {admin ? <CreateTopicForm onCreated={(name) => changed(`Created topic ${name}.`)} onError={setError} /> : null}
      <ErrorMessage error={error} />
      <Notice text={notice} />
      {topics === undefined
        ? <p>Loading…</p>
        : topics.length === 0
        ? <p>No topics yet{admin ? ": create one above" : ""}.</p>
        : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Topics</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th><th scope="col">Partitions</th><th scope="col">Replicas</th><th scope="col">Retention</th>
                  {admin ? <th scope="col">Actions</th> : null}
                </tr>
              </thead>
              <tbody>
                {topics.map((t) => <TopicRow key={t.name} topic={t} admin={admin} onChanged={changed} onError={setError} />)}
              </tbody>
            </table>
          </div>
        )}
    </section>
  )
}
