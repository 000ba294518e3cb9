/**
 * The keys of a folder whose newest version is a delete marker, which
 * S3's listing (and so the folder's table) leaves out: shown on request
 * ("Show deleted keys"), read from ListObjectVersions a page of 1000
 * versions at a time, each with its versions and Restore, which removes the
 * delete marker so that the version before it is current again.
 */
import { useEffect, useState } from "preact/hooks"
import { type DeletedKey, type DeletedPage, listDeletedKeys, removeDeleteMarker } from "../api/s3.ts"
import { formatTime } from "../format.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"
import { href } from "../route.ts"

export const DeletedKeys = ({ bucket, prefix, shownFrom, folders, refresh, onRestored }: {
  readonly bucket: string
  /** Keys start with this (the folder and any search). */
  readonly prefix: string
  /** The folder names are shown relative to. */
  readonly shownFrom: string
  readonly folders: boolean
  /** Changes when keys were deleted on the page: read again. */
  readonly refresh: number
  readonly onRestored: () => void
}) => {
  const [keys, setKeys] = useState<ReadonlyArray<DeletedKey> | undefined>(undefined)
  const [next, setNext] = useState<DeletedPage["next"]>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)

  const load = async (from: DeletedPage["next"], before: ReadonlyArray<DeletedKey>) => {
    try {
      const page = await listDeletedKeys(bucket, prefix, folders, from)
      setKeys([...before, ...page.keys])
      setNext(page.next)
      setError(undefined)
    } catch (e) {
      setError(messageOf(e))
    }
  }
  useEffect(() => {
    setKeys(undefined)
    void load(undefined, [])
  }, [bucket, prefix, folders, refresh])

  const restore = async (d: DeletedKey) => {
    try {
      await removeDeleteMarker(bucket, d.key, d.markerId)
      setNotice(`Restored ${d.key}: the version before its deletion is current again.`)
      setKeys((all) => all?.filter((k) => k.key !== d.key))
      onRestored()
    } catch (e) {
      setError(messageOf(e))
    }
  }

  return (
    <section aria-labelledby="deleted-title" class="deleted-keys">
      <h2 id="deleted-title">Deleted keys</h2>
      <ErrorMessage error={error} />
      <Notice text={notice} />
      {keys === undefined ? <p>Loading…</p> : keys.length === 0 && next === undefined ? <p>No deleted keys here.</p> : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Keys whose newest version is a delete marker</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Deleted</th><th scope="col">Actions</th></tr></thead>
            <tbody>
              {keys.map((d) => {
                const name = d.key.slice(shownFrom.length)
                return (
                  <tr key={d.key}>
                    <th scope="row" class="key">{name}</th>
                    <td>{formatTime(d.deleted)}</td>
                    <td>
                      <a href={href({ page: "versions", bucket, key: d.key })} aria-label={`Versions of deleted ${name}`}>Versions</a>{" · "}
                      <button type="button" class="small" onClick={() => void restore(d)} aria-label={`Restore ${name}`}>Restore</button>
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
      {next === undefined ? null : <button type="button" onClick={() => void load(next, keys ?? [])}>Look further (the next 1000 versions)</button>}
    </section>
  )
}
