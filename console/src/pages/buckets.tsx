/** The bucket list: create (S3's own name rules answer), open, versioning on and off, a link to its tags and CORS, delete. */
import { useEffect, useState } from "preact/hooks"
import { type Bucket, createBucket, deleteBucket, getVersioning, listBuckets, setVersioning, type Versioning } from "../api/s3.ts"
import { formatTime } from "../format.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"
import { href } from "../route.ts"

const BucketRow = ({ bucket, onChanged, onError }: { readonly bucket: Bucket; readonly onChanged: (notice: string) => void; readonly onError: (e: string) => void }) => {
  const [versioning, setVersioningState] = useState<Versioning | undefined>(undefined)
  const [confirming, setConfirming] = useState(false)
  useEffect(() => {
    getVersioning(bucket.name).then(setVersioningState, (e) => onError(messageOf(e)))
  }, [bucket.name])
  const toggle = async () => {
    try {
      await setVersioning(bucket.name, versioning !== "Enabled")
      setVersioningState(await getVersioning(bucket.name))
      onChanged(`Versioning of ${bucket.name} is now ${versioning !== "Enabled" ? "on" : "suspended"}.`)
    } catch (e) {
      onError(messageOf(e))
    }
  }
  const remove = async () => {
    try {
      await deleteBucket(bucket.name)
      onChanged(`Deleted bucket ${bucket.name}.`)
    } catch (e) {
      setConfirming(false)
      onError(messageOf(e))
    }
  }
  return (
    <tr>
      <th scope="row"><a href={href({ page: "objects", bucket: bucket.name, prefix: "" })}>{bucket.name}</a></th>
      <td>{formatTime(bucket.created)}</td>
      <td>
        <span class={`badge ${versioning === "Enabled" ? "good" : ""}`}>{versioning === undefined ? "…" : versioning === "Enabled" ? "on" : versioning === "Suspended" ? "suspended" : "off"}</span>{" "}
        <button type="button" class="small" disabled={versioning === undefined} onClick={toggle} aria-label={`${versioning === "Enabled" ? "Suspend" : "Enable"} versioning of ${bucket.name}`}>
          {versioning === "Enabled" ? "Suspend" : "Enable"}
        </button>
      </td>
      <td>
        {confirming
          ? (
            <span role="group" aria-label={`Confirm deleting ${bucket.name}`}>
              Delete {bucket.name}? <button type="button" class="small danger" onClick={remove}>Delete</button>{" "}
              <button type="button" class="small" onClick={() => setConfirming(false)}>Cancel</button>
            </span>
          )
          : (
            <>
              <a class="button small" href={href({ page: "objects", bucket: bucket.name, prefix: "", settings: true })} aria-label={`Settings of ${bucket.name}`}>Tags and CORS</a>{" "}
              <button type="button" class="small" onClick={() => setConfirming(true)} aria-label={`Delete bucket ${bucket.name}`}>Delete…</button>
            </>
          )}
      </td>
    </tr>
  )
}

export const Buckets = () => {
  const [buckets, setBuckets] = useState<ReadonlyArray<Bucket> | undefined>(undefined)
  const [name, setName] = useState("")
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)

  const load = () => listBuckets().then(setBuckets, (e) => setError(messageOf(e)))
  useEffect(() => void load(), [])

  const create = async (e: Event) => {
    e.preventDefault()
    setError(undefined)
    try {
      await createBucket(name.trim())
      setNotice(`Created bucket ${name.trim()}.`)
      setName("")
      await load()
    } catch (err) {
      setError(messageOf(err))
    }
  }
  const changed = (text: string) => {
    setError(undefined)
    setNotice(text)
    void load()
  }

  return (
    <section aria-labelledby="buckets-title">
      <h1 id="buckets-title">Buckets</h1>
      <form class="inline" onSubmit={create}>
        <label for="new-bucket">New bucket name</label>
        <input id="new-bucket" value={name} required onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. photos-2026" />
        <button type="submit">Create bucket</button>
      </form>
      <ErrorMessage error={error} />
      <Notice text={notice} />
      {buckets === undefined
        ? <p>Loading…</p>
        : buckets.length === 0
        ? <p>No buckets yet: create one above.</p>
        : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Buckets</caption>
              <thead>
                <tr><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Versioning</th><th scope="col">Actions</th></tr>
              </thead>
              <tbody>
                {buckets.map((b) => <BucketRow key={b.name} bucket={b} onChanged={changed} onError={setError} />)}
              </tbody>
            </table>
          </div>
        )}
    </section>
  )
}
