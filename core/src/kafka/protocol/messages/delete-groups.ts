/** DeleteGroups (key 42), v0-2, flexible from v2: delete empty groups and their offsets. */
import { array, field, int16, int32, message, string, struct } from "../schema.ts"

export const DeleteGroupsRequest = message({
  name: "DeleteGroupsRequest",
  apiKey: 42,
  validVersions: "0-2",
  flexibleVersions: "2+",
  fields: {
    groupsNames: field(array(string), "0+")
  }
})

const DeletableGroupResult = struct("DeletableGroupResult", {
  groupId: field(string, "0+"),
  errorCode: field(int16, "0+")
})

export const DeleteGroupsResponse = message({
  name: "DeleteGroupsResponse",
  apiKey: 42,
  validVersions: "0-2",
  flexibleVersions: "2+",
  fields: {
    throttleTimeMs: field(int32, "0+"),
    results: field(array(DeletableGroupResult), "0+")
  }
})
