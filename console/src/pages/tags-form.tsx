/**
 * A tag set edited as a whole, for an object or a bucket: S3 replaces the
 * set in one Put…Tagging (and removes it with Delete…Tagging). S3 checks
 * the limits (10 tags on an object, 50 on a bucket, keys up to 128
 * characters, values up to 256); its refusal is shown as it says.
 */
import { useEffect, useState } from "preact/hooks"
import type { Tag } from "../api/object-info.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"

export interface TagsFormProps {
  /** Changes when the thing tagged changes: the tags are read again. */
  readonly subject: string
  readonly title: string
  readonly load: () => Promise<ReadonlyArray<Tag>>
  readonly save: (tags: ReadonlyArray<Tag>) => Promise<void>
  readonly onSaved?: () => void
}

export const TagsForm = ({ subject, title, load, save, onSaved }: TagsFormProps) => {
  const [tags, setTags] = useState<ReadonlyArray<Tag> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  useEffect(() => {
    // Another object or bucket: what was said about the last one no longer holds.
    setTags(undefined)
    setError(undefined)
    setNotice(undefined)
    load().then(setTags, (e) => setError(messageOf(e)))
  }, [subject])

  const edit = (i: number, change: (t: Tag) => Tag) => setTags((all) => all?.map((t, j) => (j === i ? change(t) : t)))
  const submit = async (e: Event) => {
    e.preventDefault()
    const kept = (tags ?? []).filter(([k, v]) => k.trim() !== "" || v !== "")
    try {
      await save(kept)
      setTags(await load())
      setError(undefined)
      setNotice(kept.length === 0 ? "Removed every tag." : `Saved ${kept.length} tag${kept.length === 1 ? "" : "s"}.`)
      onSaved?.()
    } catch (err) {
      setNotice(undefined)
      setError(messageOf(err))
    }
  }

  if (tags === undefined) return error === undefined ? <p>Loading tags…</p> : <ErrorMessage error={error} />
  const id = `tags-title-${subject.replace(/[^a-zA-Z0-9_-]/g, "_")}`
  return (
    <form onSubmit={submit} aria-labelledby={id} class="tags">
      <h2 id={id}>{title}</h2>
      {tags.length === 0 ? <p class="detail">No tags.</p> : null}
      {tags.map(([k, v], i) => (
        <div class="tag-row" key={i}>
          <input aria-label={`Tag ${i + 1} key`} value={k} onInput={(e) => edit(i, ([, old]) => [e.currentTarget.value, old])} />
          <input aria-label={`Tag ${i + 1} value`} value={v} onInput={(e) => edit(i, ([old]) => [old, e.currentTarget.value])} />
          <button type="button" class="small" aria-label={`Remove tag ${i + 1}`} onClick={() => setTags(tags.filter((_, j) => j !== i))}>Remove</button>
        </div>
      ))}
      <div class="inline">
        <button type="button" onClick={() => setTags([...tags, ["", ""]])}>Add tag</button>{" "}
        <button type="submit">Save tags</button>
      </div>
      <ErrorMessage error={error} />
      <Notice text={notice} />
    </form>
  )
}
