/** An object's tags (on its current version): the shared tag form over Get/Put/DeleteObjectTagging. */
import { getTags, putTags } from "../api/object-info.ts"
import { TagsForm } from "./tags-form.tsx"

export const ObjectTags = ({ bucket, keyName, onSaved }: { readonly bucket: string; readonly keyName: string; readonly onSaved: () => void }) => (
  <TagsForm
    subject={`object:${bucket}/${keyName}`}
    title="Tags"
    load={() => getTags(bucket, keyName)}
    save={(tags) => putTags(bucket, keyName, tags)}
    onSaved={onSaved}
  />
)
