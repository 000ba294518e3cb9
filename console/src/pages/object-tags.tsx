/**
 * An object's tags, edited as a whole: S3 replaces the tag set in one
 * PutObjectTagging (and removes it with DeleteObjectTagging), on the
 * current version. S3 checks the limits (10 tags, keys up to 128
 * characters, values up to 256); its refusal is shown as it says.
 */
import { useEffect, useState } from "preact/hooks"
import { getTags, putTags, type Tag } from "../api/object-info.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"

export const ObjectTags = ({ bucket, keyName, onSaved }: { readonly bucket: string; readonly keyName: string; readonly onSaved: () => void }) => {
  const [tags, setTags] = useState<ReadonlyArray<Tag> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  useEffect(() => {
    setTags(undefined)
    getTags(bucket, keyName).then(setTags, (e) => setError(messageOf(e)))
  }, [bucket, keyName])

  const edit = (i: number, change: (t: Tag) => Tag) => setTags((all) => all?.map((t, j) => (j === i ? change(t) : t)))
  const save = async (e: Event) => {
    e.preventDefault()
    const kept = (tags ?? []).filter(([k, v]) => k.trim() !== "" || v !== "")
    try {
      await putTags(bucket, keyName, kept)
      setTags(await getTags(bucket, keyName))
      setError(undefined)
      setNotice(kept.length === 0 ? "Removed every tag." : `Saved ${kept.length} tag${kept.length === 1 ? "" : "s"}.`)
      onSaved()
    } catch (err) {
      setNotice(undefined)
      setError(messageOf(err))
    }
  }

  if (tags === undefined) return error === undefined ? <p>Loading tags…</p> : <ErrorMessage error={error} />
  return (
    <form onSubmit={save} aria-labelledby="tags-title" class="tags">
      <h2 id="tags-title">Tags</h2>
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
