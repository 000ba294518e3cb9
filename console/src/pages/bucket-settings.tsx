/**
 * A bucket's settings on its page, folded away until asked for: its tags
 * and its CORS rules. Read only when opened, so browsing a bucket costs no
 * extra requests.
 */
import { useState } from "preact/hooks"
import { getBucketTags, putBucketTags } from "../api/bucket-settings.ts"
import { BucketCors } from "./bucket-cors.tsx"
import { TagsForm } from "./tags-form.tsx"

export const BucketSettings = ({ bucket, open = false }: { readonly bucket: string; readonly open?: boolean }) => {
  const [opened, setOpened] = useState(open)
  return (
    <details class="bucket-settings" open={open} onToggle={(e) => setOpened(e.currentTarget.open)}>
      <summary>Bucket settings: tags and CORS</summary>
      {opened
        ? (
          <>
            <TagsForm subject={`bucket:${bucket}`} title="Bucket tags" load={() => getBucketTags(bucket)} save={(tags) => putBucketTags(bucket, tags)} />
            <BucketCors bucket={bucket} />
          </>
        )
        : null}
    </details>
  )
}
