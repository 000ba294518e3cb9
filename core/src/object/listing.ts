/**
 * Listings of the `ObjectStore`: `listObjects` (current versions, delete
 * markers left out) and `listVersions` (every version and marker, keys
 * ascending, newest first), both with prefix, delimiter (common prefixes)
 * and markers to resume after. A page costs about the records it walks past.
 *
 * `listVersions` merges two range scans ordered by the same strings: "<key>"
 * for a current version (`\0o/`), "<key>\0<inverted seq>" for a non-current
 * one (`\0v/`), so each key's current version comes first, then its older
 * ones newest first.
 */
import { Effect } from "effect"
import { afterPrefix, keyAfter, OBJECT_PREFIX, VERSION_PREFIX } from "./catalog-keys.ts"
import type { Catalog } from "./catalog.ts"
import type { Buckets } from "./buckets.ts"
import type { RangeItem } from "../kv/command.ts"
import type { ObjectMeta } from "./metadata.ts"
import type { ListVersionsInput, ListVersionsOutput, ObjectInfo, ObjectStore, VersionInfo } from "./object-api.ts"
import { infoOf, isDeleteMarker, isVersioned, listedVersion } from "./version-marks.ts"

/** Where `listObjects` starts: strictly after `startAfter`, but never before the prefix. */
const objectsStart = (base: string, prefix: string, delimiter: string | undefined, startAfter: string | undefined) => {
  const start = base + prefix
  if (startAfter === undefined || base + startAfter < start) return start
  const s = startAfter
  const cut = delimiter === undefined || !s.startsWith(prefix) ? -1 : s.indexOf(delimiter, prefix.length)
  // Resuming after a common prefix (a page's nextStartAfter) skips every key it rolled up.
  return cut >= 0 && cut + delimiter!.length === s.length ? afterPrefix(base + s) : keyAfter(base + s)
}

/** Where `listVersions` starts (a key name) and the version of the marker key it resumes after, if any. */
const versionsStart = (input: ListVersionsInput, prefix: string, delimiter: string | undefined) => {
  const marker = input.keyMarker
  if (marker === undefined || marker < prefix) return { from: prefix, skipUntil: undefined }
  if (input.versionIdMarker !== undefined) return { from: marker, skipUntil: input.versionIdMarker }
  const cut = delimiter === undefined || !marker.startsWith(prefix) ? -1 : marker.indexOf(delimiter, prefix.length)
  return { from: cut >= 0 && cut + delimiter!.length === marker.length ? afterPrefix(marker) : `${marker}\u0001`, skipUntil: undefined }
}

/** The next record of the merged scans: the smaller name; a current version before its key's older ones. */
const nextOfBoth = (c: RangeItem | undefined, o: RangeItem | undefined, currentBase: string, olderBase: string) => {
  const cName = c?.key.slice(currentBase.length)
  const oRest = o?.key.slice(olderBase.length)
  if (cName === undefined && oRest === undefined) return undefined
  const isCurrent = oRest === undefined || (cName !== undefined && cName < oRest)
  const item = isCurrent ? c! : o!
  const name = isCurrent ? cName! : oRest!.slice(0, oRest!.lastIndexOf("\u0000"))
  return { isCurrent, item, name }
}

/** The page a version listing builds: what it has taken, where it stands, and which records it hides. */
class VersionPage {
  readonly versions: Array<VersionInfo> = []
  readonly commonPrefixes: Array<string> = []
  private lastKey: string | undefined
  private lastVersion: string | undefined
  /** The key whose versions are being walked, its current version's id, and whether a null version was shown. */
  private group: string | undefined
  private groupCurrent: string | undefined
  private groupNull = false

  private readonly maxKeys: number
  private readonly marker: string | undefined
  /** Resuming within the marker key: its versions up to this one are skipped. */
  private skipUntil: string | undefined

  constructor(maxKeys: number, marker: string | undefined, skipUntil: string | undefined) {
    this.maxKeys = maxKeys
    this.marker = marker
    this.skipUntil = skipUntil
  }

  get full() {
    return this.versions.length + this.commonPrefixes.length >= this.maxKeys
  }

  done(truncated: boolean): ListVersionsOutput {
    return {
      versions: this.versions,
      commonPrefixes: this.commonPrefixes,
      truncated,
      nextKeyMarker: truncated ? this.lastKey : undefined,
      nextVersionIdMarker: truncated ? this.lastVersion : undefined
    }
  }

  rollUp(common: string) {
    this.commonPrefixes.push(common)
    this.lastKey = common
    this.lastVersion = undefined
    this.skipUntil = undefined
  }

  enter(name: string) {
    if (name === this.group) return
    this.group = name
    this.groupCurrent = undefined
    this.groupNull = false
  }

  /** Whether a record of the current key is listed; call in scan order, after `enter`. */
  shows(name: string, meta: ObjectMeta, isCurrent: boolean): boolean {
    // A leftover copy of the current version, or a second null version (see commit.ts's commitVersion): hidden.
    if (!isCurrent && meta.versionId === this.groupCurrent) return false
    if (!isVersioned(meta)) {
      if (this.groupNull) return false
      this.groupNull = true
    }
    if (isCurrent) this.groupCurrent = meta.versionId
    if (this.skipUntil !== undefined) {
      if (name === this.marker) {
        if (listedVersion(meta) === this.skipUntil) this.skipUntil = undefined
        return false
      }
      this.skipUntil = undefined
    }
    return true
  }

  add(name: string, meta: ObjectMeta, isCurrent: boolean) {
    this.versions.push({ ...infoOf(meta), version: listedVersion(meta), isLatest: isCurrent, deleteMarker: isDeleteMarker(meta) })
    this.lastKey = name
    this.lastVersion = listedVersion(meta)
  }
}

export const makeListing = (catalog: Catalog, buckets: Buckets) => {
  const { range, decodeMeta } = catalog
  const { requireBucket } = buckets

  /** Reads [base + from, end of base) in pages, one item at a time. */
  const cursor = (base: string) => {
    let items: ReadonlyArray<RangeItem> = []
    let i = 0
    let more = true
    let next = base
    const peek = Effect.gen(function*() {
      while (i >= items.length && more) {
        const page = yield* range(next, afterPrefix(base), 256)
        items = page.items
        i = 0
        more = page.more && page.items.length > 0
        if (page.items.length > 0) next = keyAfter(page.items[page.items.length - 1]!.key)
      }
      return items[i]
    })
    return {
      peek,
      advance: () => void i++,
      seek: (from: string) => {
        items = []
        i = 0
        more = true
        next = base + from
      }
    }
  }

  const listVersions: ObjectStore["listVersions"] = (input) =>
    Effect.gen(function*() {
      yield* requireBucket(input.bucket)
      const currentBase = `${OBJECT_PREFIX}${input.bucket}/`
      const olderBase = `${VERSION_PREFIX}${input.bucket}/`
      const prefix = input.prefix ?? ""
      const delimiter = input.delimiter === "" ? undefined : input.delimiter
      const currents = cursor(currentBase)
      const olders = cursor(olderBase)
      const seek = (from: string) => {
        currents.seek(from)
        olders.seek(from)
      }
      const start = versionsStart(input, prefix, delimiter)
      seek(start.from)
      const page = new VersionPage(Math.max(0, Math.min(1000, input.maxKeys)), input.keyMarker, start.skipUntil)
      for (;;) {
        const next = nextOfBoth(yield* currents.peek, yield* olders.peek, currentBase, olderBase)
        if (next === undefined || !next.name.startsWith(prefix)) return page.done(false)
        const { isCurrent, item, name } = next
        const cut = delimiter === undefined ? -1 : name.indexOf(delimiter, prefix.length)
        if (cut >= 0) {
          if (page.full) return page.done(true)
          const common = name.slice(0, cut + delimiter!.length)
          page.rollUp(common)
          seek(afterPrefix(common))
          continue
        }
        if (isCurrent) currents.advance()
        else olders.advance()
        page.enter(name)
        const meta = yield* decodeMeta(item.value)
        if (!page.shows(name, meta, isCurrent)) continue
        if (page.full) return page.done(true)
        page.add(name, meta, isCurrent)
      }
    })

  const listObjects: ObjectStore["listObjects"] = (input) =>
    Effect.gen(function*() {
      yield* requireBucket(input.bucket)
      const base = `${OBJECT_PREFIX}${input.bucket}/`
      const prefix = input.prefix ?? ""
      const delimiter = input.delimiter === "" ? undefined : input.delimiter
      const maxKeys = Math.max(0, Math.min(1000, input.maxKeys))
      const objects: Array<ObjectInfo> = []
      const commonPrefixes: Array<string> = []
      let start = objectsStart(base, prefix, delimiter, input.startAfter)
      let last: string | undefined
      const end = afterPrefix(base)
      for (;;) {
        const page = yield* range(start, end, Math.min(1000, maxKeys + 1))
        let jumped = false
        for (const item of page.items) {
          const key = item.key.slice(base.length)
          if (!key.startsWith(prefix)) return { objects, commonPrefixes, truncated: false, nextStartAfter: undefined }
          const meta = yield* decodeMeta(item.value)
          if (isDeleteMarker(meta)) continue
          if (objects.length + commonPrefixes.length === maxKeys) return { objects, commonPrefixes, truncated: true, nextStartAfter: last }
          const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length)
          if (cut >= 0) {
            const common = key.slice(0, cut + delimiter!.length)
            commonPrefixes.push(common)
            last = common
            // Skip every key under this common prefix.
            start = afterPrefix(base + common)
            jumped = true
            break
          }
          objects.push(infoOf(meta))
          last = key
        }
        if (!jumped) {
          if (!page.more || page.items.length === 0) return { objects, commonPrefixes, truncated: false, nextStartAfter: undefined }
          start = keyAfter(page.items[page.items.length - 1]!.key)
        }
        if (objects.length + commonPrefixes.length === maxKeys) {
          // Full: truncated only if another key follows.
          const next = yield* range(start, end, 1)
          const more = next.items.length > 0 && next.items[0]!.key.slice(base.length).startsWith(prefix)
          return { objects, commonPrefixes, truncated: more, nextStartAfter: more ? last : undefined }
        }
      }
    })

  return { listObjects, listVersions }
}
