import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { TransactWriteCommand, type TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import * as v from "valibot";
import type { DeviceProfile, DeviceProfiles } from "../../core/jobs/groups.ts";
import type { TargetDirectory } from "../../core/jobs/ports.ts";
import type { DeviceReader, Page, PageRequest } from "../../core/queries.ts";
import { checkStorable, toDomainError } from "../aws-errors.ts";
import type { CursorRule } from "./cursor.ts";
import { keys } from "./keys.ts";
import { TableAdapter } from "./table-adapter.ts";

const PROFILE_SK = "PROFILE";
const groupKey = (group: string) => `GROUP#${group}`;
const profileKey = (sn: string) => ({ pk: keys.device(sn), sk: PROFILE_SK });
const memberKey = (group: string, sn: string) => ({ pk: groupKey(group), sk: sn });

type TransactWriteItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

const StoredProfile = v.looseObject({
  sn: v.string(),
  groups: v.array(v.string()),
  attributes: v.record(v.string(), v.union([v.string(), v.number(), v.boolean()])),
  updatedAt: v.string(),
});

const MemberSn = v.looseObject({ sn: v.string() });

/** Tries of a profile write that lost a race with another write of the same device. */
const RACE_TRIES = 3;

/**
 * Device profiles in the table: `DEVICE#{sn}` / `PROFILE` (its own item: the identity item's existence
 * means "registered", which a profile must not imply), and one `GROUP#{group}` / `{sn}` item per
 * membership carrying a copy of the profile, so listing a group is one Query and needs no other read.
 */
export class DynamoDbDeviceGroups extends TableAdapter implements DeviceProfiles {
  async get(sn: string): Promise<DeviceProfile | undefined> {
    return this.itemByKey(profileKey(sn), "device profile", toProfile);
  }

  async put(profile: DeviceProfile): Promise<DeviceProfile> {
    checkStorable(profile.attributes, "device profile");
    for (let attempt = 1; ; attempt++) {
      const previous = await this.get(profile.sn);
      try {
        await this.documents.send(
          new TransactWriteCommand({ TransactItems: this.writes(profile, previous) }),
        );
        return profile;
      } catch (error) {
        // Another write of this device's profile came between the read and this one: read again.
        if (error instanceof TransactionCanceledException && attempt < RACE_TRIES) continue;
        throw toDomainError("DynamoDB TransactWriteItems (device profile)", error);
      }
    }
  }

  /** The profile (only over the version read), its memberships, and the removal of the groups it left. */
  private writes(profile: DeviceProfile, previous: DeviceProfile | undefined): TransactWriteItem[] {
    const TableName = this.tableName;
    const guard = previous
      ? {
          ConditionExpression: "updatedAt = :was",
          ExpressionAttributeValues: { ":was": previous.updatedAt },
        }
      : { ConditionExpression: "attribute_not_exists(pk)" };
    const left = (previous?.groups ?? []).filter((group) => !profile.groups.includes(group));
    return [
      {
        Put: {
          TableName,
          Item: { ...profileKey(profile.sn), type: "device_profile", ...profile },
          ...guard,
        },
      },
      ...profile.groups.map((group) => ({
        Put: {
          TableName,
          Item: { ...memberKey(group, profile.sn), type: "group_member", group, ...profile },
        },
      })),
      ...left.map((group) => ({ Delete: { TableName, Key: memberKey(group, profile.sn) } })),
    ];
  }

  members(group: string, page: PageRequest): Promise<Page<DeviceProfile>> {
    return this.queryGroup(group, page, toProfile);
  }

  countGroup(group: string): Promise<number> {
    return this.countAll(
      { KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": groupKey(group) } },
      "group count",
    );
  }

  /** One page of a group's members, each read by `read`; only their serial numbers when `read` wants no more. */
  private queryGroup<T>(
    group: string,
    page: PageRequest,
    read: (item: Record<string, unknown>) => T,
    onlySn = false,
  ) {
    const pk = groupKey(group);
    const rule: CursorRule = {
      query: `group|${group}`,
      keyAttributes: ["pk", "sk"],
      accept: (k) => k.pk === pk,
    };
    const input = {
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": pk },
      ...(onlySn ? { ProjectionExpression: "sn" } : {}),
    };
    return this.queryPage(input, page, rule, read);
  }

  /** Where a job's targets come from: groups from here, `all` from the devices' presence index. */
  targets(devices: DeviceReader): TargetDirectory {
    return {
      groupMembers: (group, page) => this.queryGroup(group, page, (item) => v.parse(MemberSn, item).sn, true),
      countGroup: (group) => this.countGroup(group),
      allDevices: async (page) => {
        const result = await devices.list({}, page);
        return {
          items: result.items.map((device) => device.sn),
          ...(result.cursor ? { cursor: result.cursor } : {}),
        };
      },
    };
  }
}

function toProfile(item: Record<string, unknown>): DeviceProfile {
  const { sn, groups, attributes, updatedAt } = v.parse(StoredProfile, item);
  return { sn, groups, attributes, updatedAt };
}
