/** Every version and delete marker of one key; restore copies an old version over the key (a new, current version). */
import { useEffect, useState } from "preact/hooks"
import { listVersions, restoreVersion, s3Path, type Version } from "../api/s3.ts"
import { formatBytes, formatTime } from "../format.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"
import { href } from "../route.ts"

export const Versions = ({ bucket, keyName }: { readonly bucket: string; readonly keyName: string }) => {
  const [versions, setVersions] = useState<ReadonlyArray<Version> | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const load = () => listVersions(bucket, keyName).then(setVersions, (e) => setError(messageOf(e)))
  useEffect(() => void load(), [bucket, keyName])

  const restore = async (v: Version) => {
    try {
      await restoreVersion(bucket, keyName, v.versionId)
      setError(undefined)
      setNotice(`Restored the version of ${formatTime(v.modified)} as the current one.`)
      await load()
    } catch (e) {
      setError(messageOf(e))
    }
  }
  const folder = keyName.includes("/") ? keyName.slice(0, keyName.lastIndexOf("/") + 1) : ""

  return (
    <section aria-labelledby="versions-title">
      <h1 id="versions-title">Versions of {keyName}</h1>
      <nav aria-label="Folder" class="breadcrumbs">
        <a href={href({ page: "buckets" })}>Buckets</a> / <a href={href({ page: "objects", bucket, prefix: folder })}>{bucket}/{folder}</a>
      </nav>
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
              {versions.map((v) => (
                <tr key={v.versionId}>
                  <th scope="row"><code>{v.versionId}</code></th>
                  <td>{formatTime(v.modified)}</td>
                  <td>{v.deleteMarker ? "—" : formatBytes(v.size)}</td>
                  <td>{v.deleteMarker ? <span class="badge warn">delete marker</span> : null} {v.latest ? <span class="badge good">current</span> : null}</td>
                  <td>
                    {v.deleteMarker ? null : (
                      <>
                        <a href={`${s3Path(bucket, keyName)}?versionId=${encodeURIComponent(v.versionId)}`} download={keyName.split("/").pop()}>Download</a>
                        {v.latest ? null : <>{" · "}<button type="button" class="small" onClick={() => restore(v)} aria-label={`Restore version ${v.versionId}`}>Restore</button></>}
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
