/**
 * The S3 calls the console makes, through `/api/s3/` (the console server
 * signs them with the session's key): path-style URLs, XML answers read
 * with the browser's DOMParser.
 */
import { call } from "./client.ts"

export const s3Path = (bucket: string, key?: string): string =>
  `/api/s3/${encodeURIComponent(bucket)}${key === undefined ? "" : `/${key.split("/").map(encodeURIComponent).join("/")}`}`

const xmlOf = async (res: Response): Promise<Document> => new DOMParser().parseFromString(await res.text(), "application/xml")
const text = (el: Element, name: string): string => el.getElementsByTagName(name)[0]?.textContent ?? ""
const children = (doc: Document | Element, name: string): ReadonlyArray<Element> => [...doc.getElementsByTagName(name)]
/** Text safe inside an XML element. */
export const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`)

export interface Bucket {
  readonly name: string
  readonly created: string
}

export const listBuckets = async (): Promise<ReadonlyArray<Bucket>> =>
  children(await xmlOf(await call("GET", "/api/s3/")), "Bucket").map((b) => ({ name: text(b, "Name"), created: text(b, "CreationDate") }))

export const createBucket = async (name: string): Promise<void> => void (await call("PUT", s3Path(name)))
export const deleteBucket = async (name: string): Promise<void> => void (await call("DELETE", s3Path(name)))

export type Versioning = "Enabled" | "Suspended" | "Off"

export const getVersioning = async (bucket: string): Promise<Versioning> => {
  const status = text((await xmlOf(await call("GET", `${s3Path(bucket)}?versioning`))).documentElement, "Status")
  return status === "Enabled" || status === "Suspended" ? status : "Off"
}

export const setVersioning = async (bucket: string, on: boolean): Promise<void> => {
  const body = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${on ? "Enabled" : "Suspended"}</Status></VersioningConfiguration>`
  await call("PUT", `${s3Path(bucket)}?versioning`, { body, headers: { "content-type": "application/xml" } })
}

export interface ObjectEntry {
  readonly key: string
  readonly size: number
  readonly modified: string
  readonly etag: string
}

export interface Listing {
  readonly folders: ReadonlyArray<string>
  readonly objects: ReadonlyArray<ObjectEntry>
  /** The token of the next page, when there is one. */
  readonly next: string | undefined
}

/**
 * One page of keys that start with `prefix`, in S3's order (by name), from
 * the page `token` opens. With `folders`, keys are grouped at the next "/"
 * (S3's delimiter: the groups come back as common prefixes); without, every
 * key under the prefix is listed.
 */
export const listObjects = async (bucket: string, prefix: string, token: string | undefined, maxKeys: number, folders = true): Promise<Listing> => {
  const q = new URLSearchParams({ "list-type": "2", prefix, "max-keys": String(maxKeys) })
  if (folders) q.set("delimiter", "/")
  if (token !== undefined) q.set("continuation-token", token)
  const doc = await xmlOf(await call("GET", `${s3Path(bucket)}?${q}`))
  const root = doc.documentElement
  return {
    folders: children(doc, "CommonPrefixes").map((p) => text(p, "Prefix")),
    objects: children(doc, "Contents").map((c) => ({ key: text(c, "Key"), size: Number(text(c, "Size")), modified: text(c, "LastModified"), etag: text(c, "ETag") })),
    next: text(root, "IsTruncated") === "true" ? text(root, "NextContinuationToken") : undefined
  }
}

/** Deletes many keys in one request; resolves with the keys S3 refused and why. */
export const deleteObjects = async (bucket: string, keys: ReadonlyArray<string>): Promise<ReadonlyArray<{ readonly key: string; readonly message: string }>> => {
  const body = `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${keys.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join("")}</Delete>`
  const doc = await xmlOf(await call("POST", `${s3Path(bucket)}?delete`, { body, headers: { "content-type": "application/xml" } }))
  return children(doc, "Error").map((e) => ({ key: text(e, "Key"), message: `${text(e, "Code")}: ${text(e, "Message")}` }))
}

export interface Version {
  readonly versionId: string
  readonly latest: boolean
  readonly deleteMarker: boolean
  readonly size: number
  readonly modified: string
  readonly etag: string
}

/** Every version and delete marker of one key, newest first. */
export const listVersions = async (bucket: string, key: string): Promise<ReadonlyArray<Version>> => {
  const out: Array<Version> = []
  let marker: { key: string; version: string } | undefined
  for (;;) {
    const q = new URLSearchParams({ prefix: key })
    if (marker !== undefined) {
      q.set("key-marker", marker.key)
      q.set("version-id-marker", marker.version)
    }
    const doc = await xmlOf(await call("GET", `${s3Path(bucket)}?versions&${q}`))
    for (const el of [...doc.documentElement.children]) {
      if ((el.localName !== "Version" && el.localName !== "DeleteMarker") || text(el, "Key") !== key) continue
      out.push({
        versionId: text(el, "VersionId"),
        latest: text(el, "IsLatest") === "true",
        deleteMarker: el.localName === "DeleteMarker",
        size: Number(text(el, "Size") || "0"),
        modified: text(el, "LastModified"),
        etag: text(el, "ETag")
      })
    }
    const root = doc.documentElement
    if (text(root, "IsTruncated") !== "true") return out
    marker = { key: text(root, "NextKeyMarker"), version: text(root, "NextVersionIdMarker") }
  }
}

/** Makes an old version the current one again, by copying it over the key (the old version stays too). */
export const restoreVersion = async (bucket: string, key: string, versionId: string): Promise<void> => {
  const source = `/${encodeURIComponent(bucket)}/${key.split("/").map(encodeURIComponent).join("/")}?versionId=${encodeURIComponent(versionId)}`
  await call("PUT", s3Path(bucket, key), { headers: { "x-amz-copy-source": source } })
}

/** A key whose newest version is a delete marker: S3's listing hides it, its versions are still there. */
export interface DeletedKey {
  readonly key: string
  /** The delete marker's version id (removing it brings the version before it back). */
  readonly markerId: string
  readonly deleted: string
}

export interface DeletedPage {
  readonly keys: ReadonlyArray<DeletedKey>
  /** Where the next page of versions starts, when there is one. */
  readonly next: { readonly key: string; readonly versionId: string } | undefined
}

/**
 * The deleted keys among one page of up to 1000 versions under `prefix` (ListObjectVersions; with `folders`, only
 * the keys directly in the folder, S3's delimiter grouping the rest). A page may hold none and still have a next.
 */
export const listDeletedKeys = async (bucket: string, prefix: string, folders: boolean, from?: DeletedPage["next"]): Promise<DeletedPage> => {
  const q = new URLSearchParams({ prefix, "max-keys": "1000" })
  if (folders) q.set("delimiter", "/")
  if (from !== undefined) {
    q.set("key-marker", from.key)
    q.set("version-id-marker", from.versionId)
  }
  const root = (await xmlOf(await call("GET", `${s3Path(bucket)}?versions&${q}`))).documentElement
  const keys = children(root, "DeleteMarker")
    .filter((m) => text(m, "IsLatest") === "true")
    .map((m) => ({ key: text(m, "Key"), markerId: text(m, "VersionId"), deleted: text(m, "LastModified") }))
  return { keys, next: text(root, "IsTruncated") === "true" ? { key: text(root, "NextKeyMarker"), versionId: text(root, "NextVersionIdMarker") } : undefined }
}

/** Undeletes a key by removing its newest delete marker: the version before it is the current one again, as it was. */
export const removeDeleteMarker = async (bucket: string, key: string, markerId: string): Promise<void> =>
  void (await call("DELETE", `${s3Path(bucket, key)}?versionId=${encodeURIComponent(markerId)}`))
