/**
 * One object: what S3 stored (size, type, ETag, version, standard headers,
 * metadata), download, delete, a preview, a share link, its tags, and its
 * versions.
 */
import { Fragment } from "preact"
import { useEffect, useState } from "preact/hooks"
import { ApiError } from "../api/client.ts"
import { deleteObject, headObject, type ObjectInfo } from "../api/object-info.ts"
import { s3Path } from "../api/s3.ts"
import { formatBytes, formatTime } from "../format.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"
import { href } from "../route.ts"
import { ObjectPreview } from "./object-preview.tsx"
import { ObjectTags } from "./object-tags.tsx"
import { ShareLink } from "./share-link.tsx"
import { folderOf, VersionHistory } from "./versions.tsx"

const Summary = ({ info }: { readonly info: ObjectInfo }) => (
  <dl class="facts" aria-label="Object">
    <dt>Size</dt><dd>{formatBytes(info.size)} <span class="detail">({info.size.toLocaleString()} bytes)</span></dd>
    <dt>Content type</dt><dd><code>{info.contentType}</code></dd>
    <dt>Modified</dt><dd>{formatTime(info.modified)}</dd>
    <dt>ETag</dt><dd><code>{info.etag}</code></dd>
    <dt>Version</dt><dd><code>{info.versionId ?? "— (bucket not versioned)"}</code></dd>
    {info.headers.map(([n, v]) => <Fragment key={n}><dt>{n}</dt><dd><code>{v}</code></dd></Fragment>)}
  </dl>
)

const Metadata = ({ info }: { readonly info: ObjectInfo }) => (
  <section aria-labelledby="metadata-title">
    <h2 id="metadata-title">Metadata</h2>
    {info.metadata.length === 0 ? <p class="detail">No user metadata (x-amz-meta-*).</p> : (
      <dl class="facts" aria-label="User metadata">
        {info.metadata.map(([n, v]) => <Fragment key={n}><dt>{n}</dt><dd><code>{v}</code></dd></Fragment>)}
      </dl>
    )}
    <p class="detail">Metadata is set when an object is written (x-amz-meta-* headers) and cannot be changed without writing it again.</p>
  </section>
)

const DeleteKey = ({ name, onDelete }: { readonly name: string; readonly onDelete: () => void }) => {
  const [confirming, setConfirming] = useState(false)
  if (!confirming) return <button type="button" onClick={() => setConfirming(true)} aria-label={`Delete ${name}…`}>Delete…</button>
  return (
    <span role="group" aria-label={`Confirm deleting ${name}`}>
      Delete {name}? In a versioned bucket this adds a delete marker and the versions stay.{" "}
      <button type="button" class="danger" onClick={() => { setConfirming(false); onDelete() }}>Delete</button>{" "}
      <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
    </span>
  )
}

export const ObjectDetails = ({ bucket, keyName }: { readonly bucket: string; readonly keyName: string }) => {
  const [info, setInfo] = useState<ObjectInfo | null | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const [changes, setChanges] = useState(0)
  const folder = folderOf(keyName)
  const name = keyName.slice(folder.length)
  useEffect(() => {
    // A 404 on HEAD: no current version (deleted, or a delete marker is the latest); its versions may remain.
    headObject(bucket, keyName).then(setInfo, (e) => (e instanceof ApiError && e.status === 404 ? setInfo(null) : setError(messageOf(e))))
  }, [bucket, keyName, changes])

  const remove = async () => {
    try {
      await deleteObject(bucket, keyName)
      setError(undefined)
      setNotice(`Deleted ${name}.`)
      setChanges((n) => n + 1)
    } catch (e) {
      setError(messageOf(e))
    }
  }

  return (
    <section aria-labelledby="object-title">
      <h1 id="object-title">{name}</h1>
      <nav aria-label="Folder" class="breadcrumbs">
        <a href={href({ page: "buckets" })}>Buckets</a> / <a href={href({ page: "objects", bucket, prefix: folder })}>{bucket}/{folder}</a>
      </nav>
      <ErrorMessage error={error} />
      <Notice text={notice} />
      {info === undefined ? <p>Loading…</p> : info === null ? <p>{name} has no current version: it was deleted (its versions, if any, are below).</p> : (
        <>
          <div class="toolbar">
            <span>
              <a class="button" href={s3Path(bucket, keyName)} download={name} aria-label={`Download ${name}`}>Download</a>{" "}
              <DeleteKey name={name} onDelete={() => void remove()} />
            </span>
          </div>
          <Summary info={info} />
          <ObjectPreview bucket={bucket} keyName={keyName} info={info} />
          {/* Keyed: a link made for the last object must not stay on the page of the next. */}
          <ShareLink key={`${bucket}/${keyName}`} bucket={bucket} keyName={keyName} />
          <ObjectTags bucket={bucket} keyName={keyName} onSaved={() => setChanges((n) => n + 1)} />
          <Metadata info={info} />
        </>
      )}
      <section aria-labelledby="history-title">
        <h2 id="history-title">Versions</h2>
        <VersionHistory bucket={bucket} keyName={keyName} reload={changes} onChanged={() => setChanges((n) => n + 1)} />
      </section>
    </section>
  )
}
