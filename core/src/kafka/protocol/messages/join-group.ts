/**
 * JoinGroup (key 11), v0-9, flexible from v6: the first step of the
 * classic rebalance protocol. The protocol metadata a member sends and the
 * leader receives are opaque bytes (the consumer's subscription format).
 */
import { array, bool, bytes, field, int16, int32, message, nullable, string, struct } from "../schema.ts"

const JoinGroupRequestProtocol = struct("JoinGroupRequestProtocol", {
  name: field(string, "0+"),
  metadata: field(bytes, "0+")
})

export const JoinGroupRequest = message({
  name: "JoinGroupRequest",
  apiKey: 11,
  validVersions: "0-9",
  flexibleVersions: "6+",
  fields: {
    groupId: field(string, "0+"),
    sessionTimeoutMs: field(int32, "0+"),
    rebalanceTimeoutMs: field(int32, "1+", { ignorable: true, default: -1 }),
    memberId: field(string, "0+"),
    groupInstanceId: nullable(string, "5+", "5+", { default: null }),
    protocolType: field(string, "0+"),
    protocols: field(array(JoinGroupRequestProtocol), "0+"),
    reason: nullable(string, "8+", "8+", { ignorable: true, default: null })
  }
})

const JoinGroupResponseMember = struct("JoinGroupResponseMember", {
  memberId: field(string, "0+"),
  groupInstanceId: nullable(string, "5+", "5+", { ignorable: true, default: null }),
  metadata: field(bytes, "0+")
})

export const JoinGroupResponse = message({
  name: "JoinGroupResponse",
  apiKey: 11,
  validVersions: "0-9",
  flexibleVersions: "6+",
  fields: {
    throttleTimeMs: field(int32, "2+", { ignorable: true }),
    errorCode: field(int16, "0+"),
    generationId: field(int32, "0+", { default: -1 }),
    protocolType: nullable(string, "7+", "7+", { ignorable: true, default: null }),
    protocolName: nullable(string, "0+", "7+"),
    leader: field(string, "0+"),
    skipAssignment: field(bool, "9+"),
    memberId: field(string, "0+"),
    members: field(array(JoinGroupResponseMember), "0+")
  }
})
