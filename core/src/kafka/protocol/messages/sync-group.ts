/**
 * SyncGroup (key 14), v0-5, flexible from v4: the leader hands out the
 * assignment, every member receives its own (opaque bytes).
 */
import { array, bytes, field, int16, int32, message, nullable, string, struct } from "../schema.ts"

const SyncGroupRequestAssignment = struct("SyncGroupRequestAssignment", {
  memberId: field(string, "0+"),
  assignment: field(bytes, "0+")
})

export const SyncGroupRequest = message({
  name: "SyncGroupRequest",
  apiKey: 14,
  validVersions: "0-5",
  flexibleVersions: "4+",
  fields: {
    groupId: field(string, "0+"),
    generationId: field(int32, "0+"),
    memberId: field(string, "0+"),
    groupInstanceId: nullable(string, "3+", "3+", { default: null }),
    protocolType: nullable(string, "5+", "5+", { ignorable: true, default: null }),
    protocolName: nullable(string, "5+", "5+", { ignorable: true, default: null }),
    assignments: field(array(SyncGroupRequestAssignment), "0+")
  }
})

export const SyncGroupResponse = message({
  name: "SyncGroupResponse",
  apiKey: 14,
  validVersions: "0-5",
  flexibleVersions: "4+",
  fields: {
    throttleTimeMs: field(int32, "1+", { ignorable: true }),
    errorCode: field(int16, "0+"),
    protocolType: nullable(string, "5+", "5+", { ignorable: true, default: null }),
    protocolName: nullable(string, "5+", "5+", { ignorable: true, default: null }),
    assignment: field(bytes, "0+")
  }
})
