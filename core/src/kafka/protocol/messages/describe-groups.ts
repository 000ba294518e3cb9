/** DescribeGroups (key 15), v0-5, flexible from v5: state, protocol and members of groups. */
import { array, bool, bytes, field, int16, int32, message, nullable, string, struct } from "../schema.ts"

export const DescribeGroupsRequest = message({
  name: "DescribeGroupsRequest",
  apiKey: 15,
  validVersions: "0-5",
  flexibleVersions: "5+",
  fields: {
    groups: field(array(string), "0+"),
    includeAuthorizedOperations: field(bool, "3+")
  }
})

const DescribedGroupMember = struct("DescribedGroupMember", {
  memberId: field(string, "0+"),
  groupInstanceId: nullable(string, "4+", "4+", { ignorable: true, default: null }),
  clientId: field(string, "0+"),
  clientHost: field(string, "0+"),
  memberMetadata: field(bytes, "0+"),
  memberAssignment: field(bytes, "0+")
})

const DescribedGroup = struct("DescribedGroup", {
  errorCode: field(int16, "0+"),
  groupId: field(string, "0+"),
  groupState: field(string, "0+"),
  protocolType: field(string, "0+"),
  protocolData: field(string, "0+"),
  members: field(array(DescribedGroupMember), "0+"),
  authorizedOperations: field(int32, "3+", { default: -2147483648 })
})

export const DescribeGroupsResponse = message({
  name: "DescribeGroupsResponse",
  apiKey: 15,
  validVersions: "0-5",
  flexibleVersions: "5+",
  fields: {
    throttleTimeMs: field(int32, "1+", { ignorable: true }),
    groups: field(array(DescribedGroup), "0+")
  }
})
