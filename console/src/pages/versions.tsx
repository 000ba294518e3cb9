/**
 * Every version and delete marker of one key; restore copies an old version
 * over the key (a new, current version), and Share makes a link to one
 * version (it keeps serving that version after newer ones are written). The history is a page of its own
 * and a section of the object's details page.
 */
import { useEffect, useState } from "preact/hooks"
import { listVersions, restoreVersion, s3Path, type Version } from "../api/s3.ts"
import { formatBytes, formatTime } from "../format.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"
import { href } from "../route.ts"
import { ShareLink } from "./share-link.tsx"

interface RowActions {
  readonly onRestore: (v: Version) => void
  readonly onShare: (v: Version) => void
}

const VersionRow = ({ bucket, keyName, v, onRestore, onShare }: { readonly bucket: string; readonly keyName: string; readonly v: Version } & RowActions) => (
  <tr>
    <th scope="row"><code>{v.versionId}</code></th>
    <td>{formatTime(v.modified)}</td>
    <td>{v.deleteMarker ? "—" : formatBytes(v.size)}</td>
    <td>{v.deleteMarker ? <span class="badge warn">delete marker</span> : null} {v.latest ? <span class="badge good">current</span> : null}</td>
    <td>
      {v.deleteMarker ? null : (
        <>
          <a href={`${s3Path(bucket, keyName)}?versionId=${encodeURIComponent(v.versionId)}`} download={keyName.split("/").pop()}>Download</a>
          {" · "}<button type="button" class="small" onClick={() => onShare(v)} aria-label={`Share version ${v.versionId}`}>Share</button>
          {v.latest ? null : <>{" · "}<button type="button" class="small" onClick={() => onRestore(v)} aria-label={`Restore version ${v.versionId}`}>Restore</button></>}
        </>
      )}
    </td>
  </tr>
)

/** The history of one key, newest first; `onChanged` is told after a restore (the current version changed). */
export const VersionHistory = ({ bucket, keyName, onChanged, reload = 0 }: { readonly bucket: string; readonly keyName: string; readonly onChanged?: () => void; readonly reload?: number }) => {
  const [versions, setVersions] = useState<ReadonlyArray<Version> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [sharing, setSharing] = useState<string | undefined>(undefined)
  const load = () => listVersions(bucket, keyName).then(setVersions, (e) => setError(messageOf(e)))
  useEffect(() => void load(), [bucket, keyName, reload])

  const restore = async (v: Version) => {
    try {
      await restoreVersion(bucket, keyName, v.versionId)
      setError(undefined)
      setNotice(`Restored the version of ${formatTime(v.modified)} as the current one.`)
      await load()
      onChanged?.()
    } catch (e) {
      setError(messageOf(e))
    }
  }

  return (
    <>
      <ErrorMessage error={error} />
      <Notice text={notice} />
      {versions === undefined ? <p>Loading…</p> : versions.length === 0 ? <p>This key has no versions.</p> : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Versions, newest first</caption>
            <thead>
              <tr><th scope="col">Version</th><th scope="col">Modified</th><th scope="col">Size</th><th scope="col">State</th><th scope="col">Actions</th></tr>
            </thead>
            <tbody>
              {versions.map((v) => <VersionRow key={v.versionId} bucket={bucket} keyName={keyName} v={v} onRestore={restore} onShare={(s) => setSharing(s.versionId)} />)}
            </tbody>
          </table>
        </div>
      )}
      {sharing === undefined ? null : <ShareLink key={sharing} bucket={bucket} keyName={keyName} versionId={sharing} />}
    </>
  )
}

export const folderOf = (key: string): string => (key.includes("/") ? key.slice(0, key.lastIndexOf("/") + 1) : "")

export const Versions = ({ bucket, keyName }: { readonly bucket: string; readonly keyName: string }) => {
  const folder = folderOf(keyName)
  return (
    <section aria-labelledby="versions-title">
      <h1 id="versions-title">Versions of {keyName}</h1>
      <nav aria-label="Folder" class="breadcrumbs">
        <a href={href({ page: "buckets" })}>Buckets</a> / <a href={href({ page: "objects", bucket, prefix: folder })}>{bucket}/{folder}</a>
        {" · "}<a href={href({ page: "object", bucket, key: keyName })}>Details of {keyName.slice(folder.length)}</a>
      </nav>
      <VersionHistory bucket={bucket} keyName={keyName} />
    </section>
  )
}
