/**
 * Which group ids the coordinator accepts. Kafka takes any non-empty
 * string for the membership APIs and also the empty one for offsets and
 * administration (old simple consumers commit under ""). Cairn adds a
 * length cap: a group id is part of KV keys (at most 4 KiB each, with the
 * topic and partition of an offset's key), so longer ids are refused with
 * INVALID_GROUP_ID rather than failing at the KV.
 */
import { utf8Length } from "../../kv/keys.ts"

export const MAX_GROUP_ID_BYTES = 2048

export const validGroupId = (groupId: string, allowEmpty: boolean): boolean =>
  (allowEmpty || groupId.length > 0) && (groupId.length * 3 <= MAX_GROUP_ID_BYTES || utf8Length(groupId) <= MAX_GROUP_ID_BYTES)
