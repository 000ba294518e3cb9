/** Heartbeat (key 12), v0-4, flexible from v4: a member's liveness within a generation. */
import { field, int16, int32, message, nullable, string } from "../schema.ts"

export const HeartbeatRequest = message({
  name: "HeartbeatRequest",
  apiKey: 12,
  validVersions: "0-4",
  flexibleVersions: "4+",
  fields: {
    groupId: field(string, "0+"),
    generationId: field(int32, "0+"),
    memberId: field(string, "0+"),
    groupInstanceId: nullable(string, "3+", "3+", { default: null })
  }
})

export const HeartbeatResponse = message({
  name: "HeartbeatResponse",
  apiKey: 12,
  validVersions: "0-4",
  flexibleVersions: "4+",
  fields: {
    throttleTimeMs: field(int32, "1+", { ignorable: true }),
    errorCode: field(int16, "0+")
  }
})
