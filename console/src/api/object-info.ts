/**
 * One object as S3 describes it: HeadObject's headers (size, type, ETag,
 * version, the standard headers and `x-amz-meta-*` metadata), its tags
 * (Get/Put/DeleteObjectTagging, which act on the current version), and
 * DeleteObject.
 */
import { call } from "./client.ts"
import { escapeXml, s3Path } from "./s3.ts"

export interface ObjectInfo {
  readonly size: number
  readonly contentType: string
  readonly etag: string
  readonly modified: string
  /** undefined in a bucket that was never versioned. */
  readonly versionId: string | undefined
  /** The standard headers the object was stored with (cache-control, content-encoding, ...). */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** User metadata: `x-amz-meta-<name>`, shown without the prefix. */
  readonly metadata: ReadonlyArray<readonly [string, string]>
  readonly tagCount: number
}

const STANDARD = ["cache-control", "content-disposition", "content-encoding", "content-language", "expires"]
const META = "x-amz-meta-"

const versionQuery = (versionId: string | undefined) => (versionId === undefined ? "" : `?versionId=${encodeURIComponent(versionId)}`)

export const headObject = async (bucket: string, key: string, versionId?: string): Promise<ObjectInfo> => {
  const h = (await call("HEAD", s3Path(bucket, key) + versionQuery(versionId))).headers
  const all = [...h.entries()]
  return {
    size: Number(h.get("content-length") ?? "0"),
    contentType: h.get("content-type") ?? "",
    etag: h.get("etag") ?? "",
    modified: h.get("last-modified") ?? "",
    versionId: h.get("x-amz-version-id") ?? undefined,
    // The console adds content-disposition to GETs of an object's bytes only, so on HEAD it is what S3 stored.
    headers: all.filter(([n]) => STANDARD.includes(n)),
    metadata: all.filter(([n]) => n.startsWith(META)).map(([n, v]) => [n.slice(META.length), v] as const),
    tagCount: Number(h.get("x-amz-tagging-count") ?? "0")
  }
}

export type Tag = readonly [key: string, value: string]

export const getTags = async (bucket: string, key: string): Promise<ReadonlyArray<Tag>> => {
  const doc = new DOMParser().parseFromString(await (await call("GET", `${s3Path(bucket, key)}?tagging`)).text(), "application/xml")
  return [...doc.getElementsByTagName("Tag")].map((t) => [t.getElementsByTagName("Key")[0]?.textContent ?? "", t.getElementsByTagName("Value")[0]?.textContent ?? ""] as const)
}

/** Replaces the object's whole tag set (S3 has no per-tag change); an empty set removes them all. */
export const putTags = async (bucket: string, key: string, tags: ReadonlyArray<Tag>): Promise<void> => {
  if (tags.length === 0) {
    await call("DELETE", `${s3Path(bucket, key)}?tagging`)
    return
  }
  const body = `<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${tags.map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`).join("")}</TagSet></Tagging>`
  await call("PUT", `${s3Path(bucket, key)}?tagging`, { body, headers: { "content-type": "application/xml" } })
}

/** Deletes the key (in a versioned bucket: adds a delete marker, the versions stay) or, given one, a version for good. */
export const deleteObject = async (bucket: string, key: string, versionId?: string): Promise<void> =>
  void (await call("DELETE", s3Path(bucket, key) + versionQuery(versionId)))
