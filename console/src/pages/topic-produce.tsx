/**
 * Producing one record from a topic's page: to a chosen partition, or by
 * key (the node picks the partition with Kafka's default partitioner, as a
 * Kafka client would), with optional headers. The answer's offset is shown.
 */
import { useState } from "preact/hooks"
import { produceRecord, type Produced } from "../api/log.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"

/** `name=value` lines as headers; a line without "=" is a header with an empty value. */
const parseHeaders = (text: string): ReadonlyArray<{ readonly key: string; readonly value: string }> =>
  text.split("\n").map((l) => l.trim()).filter((l) => l !== "").map((line) => {
    const at = line.indexOf("=")
    return at < 0 ? { key: line, value: "" } : { key: line.slice(0, at).trim(), value: line.slice(at + 1) }
  })

export const ProduceForm = ({ topic, partitions, onProduced }: {
  readonly topic: string
  readonly partitions: number
  readonly onProduced: (produced: Produced) => void
}) => {
  const [target, setTarget] = useState("key")
  const [key, setKey] = useState("")
  const [value, setValue] = useState("")
  const [headers, setHeaders] = useState("")
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const byKey = target === "key"
  const produce = async (e: Event) => {
    e.preventDefault()
    setNotice(undefined)
    if (byKey && key === "") return setError("Give a key, or choose a partition: the partition of a record is picked from its key.")
    try {
      const produced = await produceRecord(topic, byKey ? undefined : Number(target), {
        ...(key === "" ? {} : { key }),
        value,
        ...(headers.trim() === "" ? {} : { headers: parseHeaders(headers) })
      })
      setError(undefined)
      setNotice(`Produced to partition ${produced.partition} at offset ${produced.baseOffset}.`)
      onProduced(produced)
    } catch (err) {
      setError(messageOf(err))
    }
  }
  return (
    <form class="stacked" onSubmit={produce} aria-labelledby="produce-title">
      <h2 id="produce-title">Produce a record</h2>
      <label for="produce-partition">Partition</label>
      <select id="produce-partition" value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
        <option value="key">By key (Kafka's partitioner)</option>
        {Array.from({ length: partitions }, (_, p) => <option key={p} value={String(p)}>Partition {p}</option>)}
      </select>
      <label for="produce-key">Key{byKey ? "" : " (optional)"}</label>
      <input id="produce-key" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
      <label for="produce-value">Value</label>
      <textarea id="produce-value" rows={3} value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      <label for="produce-headers">Headers (optional, one <code>name=value</code> a line)</label>
      <textarea id="produce-headers" rows={2} value={headers} onInput={(e) => setHeaders(e.currentTarget.value)} />
      <div><button type="submit">Produce</button></div>
      <ErrorMessage error={error} />
      <Notice text={notice} />
    </form>
  )
}
