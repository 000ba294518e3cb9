/** LeaveGroup (key 13), v0-5, flexible from v4: one member (v0-2) or several (v3+) leave a group. */
import { array, field, int16, int32, message, nullable, string, struct } from "../schema.ts"

const MemberIdentity = struct("MemberIdentity", {
  memberId: field(string, "3+"),
  groupInstanceId: nullable(string, "3+", "3+", { default: null }),
  reason: nullable(string, "5+", "5+", { ignorable: true, default: null })
})

export const LeaveGroupRequest = message({
  name: "LeaveGroupRequest",
  apiKey: 13,
  validVersions: "0-5",
  flexibleVersions: "4+",
  fields: {
    groupId: field(string, "0+"),
    memberId: field(string, "0-2"),
    members: field(array(MemberIdentity), "3+")
  }
})

const MemberResponse = struct("MemberResponse", {
  memberId: field(string, "3+"),
  groupInstanceId: nullable(string, "3+", "3+"),
  errorCode: field(int16, "3+")
})

export const LeaveGroupResponse = message({
  name: "LeaveGroupResponse",
  apiKey: 13,
  validVersions: "0-5",
  flexibleVersions: "4+",
  fields: {
    throttleTimeMs: field(int32, "1+", { ignorable: true }),
    errorCode: field(int16, "0+"),
    members: field(array(MemberResponse), "3+")
  }
})
