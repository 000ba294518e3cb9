/**
 * A topic's settings changed after creation (the admin's key): retention
 * by age and by size (empty: no limit), and more partitions. The largest
 * batch and the segment size are fixed when a topic is created, and the
 * page says so rather than offering them.
 */
import { useState } from "preact/hooks"
import { alterTopic, growTopic, type Topic } from "../api/log.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"

const AGE_UNITS = [["minutes", 60_000], ["hours", 3_600_000], ["days", 86_400_000]] as const
const SIZE_UNITS = [["MiB", 1 << 20], ["GiB", 1 << 30]] as const

/** A millisecond or byte figure in the largest unit that divides it. */
const inUnits = (n: number | undefined, units: ReadonlyArray<readonly [string, number]>): readonly [string, string] => {
  if (n === undefined) return ["", units[units.length - 1]![0]]
  for (const [name, size] of [...units].reverse()) if (n % size === 0) return [String(n / size), name]
  return [String(n / units[0]![1]), units[0]![0]]
}

/** The typed figure in base units; null for empty (no limit); a message when it is not a number. */
const figure = (text: string, unit: string, units: ReadonlyArray<readonly [string, number]>, what: string): number | null | string => {
  if (text.trim() === "") return null
  const n = Number(text)
  const size = units.find(([name]) => name === unit)![1]
  return Number.isFinite(n) && n >= 0 ? Math.round(n * size) : `${what} must be a number of at least 0, or empty for no limit`
}

const Amount = ({ id, label, value, unit, units, onValue, onUnit }: {
  readonly id: string
  readonly label: string
  readonly value: string
  readonly unit: string
  readonly units: ReadonlyArray<readonly [string, number]>
  readonly onValue: (v: string) => void
  readonly onUnit: (u: string) => void
}) => (
  <div class="inline">
    <label for={id}>{label}</label>
    <input id={id} type="number" min="0" step="any" value={value} placeholder="no limit" onInput={(e) => onValue(e.currentTarget.value)} />
    <label for={`${id}-unit`} class="visually-hidden">{label}: unit</label>
    <select id={`${id}-unit`} value={unit} onChange={(e) => onUnit(e.currentTarget.value)}>
      {units.map(([name]) => <option key={name} value={name}>{name}</option>)}
    </select>
  </div>
)

export const TopicSettingsForm = ({ topic, onChanged }: { readonly topic: Topic; readonly onChanged: (t: Topic) => void }) => {
  const [age, setAge] = useState(() => inUnits(topic.retentionMs, AGE_UNITS))
  const [size, setSize] = useState(() => inUnits(topic.retentionBytes, SIZE_UNITS))
  const [partitions, setPartitions] = useState(String(topic.partitions))
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const done = (t: Topic, text: string) => {
    setError(undefined)
    setNotice(text)
    onChanged(t)
  }
  const saveRetention = async (e: Event) => {
    e.preventDefault()
    const retentionMs = figure(age[0], age[1], AGE_UNITS, "Retention by age")
    const retentionBytes = figure(size[0], size[1], SIZE_UNITS, "Retention by size")
    if (typeof retentionMs === "string" || typeof retentionBytes === "string") return setError(typeof retentionMs === "string" ? retentionMs : retentionBytes as string)
    try {
      done(await alterTopic(topic.name, { retentionMs, retentionBytes }), "Saved the retention: each replica applies it at its next retention check.")
    } catch (err) {
      setError(messageOf(err))
    }
  }
  const grow = async () => {
    try {
      done(await growTopic(topic.name, Number(partitions)), `${topic.name} has ${partitions} partitions.`)
    } catch (err) {
      setError(messageOf(err))
    }
  }
  return (
    <form class="stacked" onSubmit={saveRetention} aria-labelledby="settings-title">
      <h2 id="settings-title">Change settings</h2>
      <Amount id="retention-age" label="Retention by age" value={age[0]} unit={age[1]} units={AGE_UNITS} onValue={(v) => setAge([v, age[1]])} onUnit={(u) => setAge([age[0], u])} />
      <Amount id="retention-size" label="Retention by size (per partition)" value={size[0]} unit={size[1]} units={SIZE_UNITS} onValue={(v) => setSize([v, size[1]])} onUnit={(u) => setSize([size[0], u])} />
      <div><button type="submit">Save retention</button></div>
      <div class="inline">
        <label for="grow-partitions">Partitions</label>
        <input id="grow-partitions" type="number" min={topic.partitions} max="1024" value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} />
        <button type="button" onClick={grow}>Grow partitions</button>
      </div>
      <p class="summary">
        Partitions only grow (keys then map to other partitions). The largest batch and the segment size are fixed when a
        topic is created.
      </p>
      <ErrorMessage error={error} />
      <Notice text={notice} />
    </form>
  )
}
