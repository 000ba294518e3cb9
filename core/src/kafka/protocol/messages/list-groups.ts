/** ListGroups (key 16), v0-5, flexible from v3: the groups a coordinator knows, filtered by state (v4+) and type (v5+). */
import { array, field, int16, int32, message, string, struct } from "../schema.ts"

export const ListGroupsRequest = message({
  name: "ListGroupsRequest",
  apiKey: 16,
  validVersions: "0-5",
  flexibleVersions: "3+",
  fields: {
    statesFilter: field(array(string), "4+"),
    typesFilter: field(array(string), "5+")
  }
})

const ListedGroup = struct("ListedGroup", {
  groupId: field(string, "0+"),
  protocolType: field(string, "0+"),
  groupState: field(string, "4+", { ignorable: true }),
  groupType: field(string, "5+", { ignorable: true })
})

export const ListGroupsResponse = message({
  name: "ListGroupsResponse",
  apiKey: 16,
  validVersions: "0-5",
  flexibleVersions: "3+",
  fields: {
    throttleTimeMs: field(int32, "1+", { ignorable: true }),
    errorCode: field(int16, "0+"),
    groups: field(array(ListedGroup), "0+")
  }
})
