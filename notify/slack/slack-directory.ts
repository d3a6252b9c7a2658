// Who is in a Slack user group, for inviting to war-rooms and for authorising approvers named as groups.
// Cached briefly: an approval click must be answered within Slack's 3 seconds, and group membership
// rarely changes within a minute.
import { SlackError, type SlackApi } from './slack-api';
import { userGroupIdSchema, type SlackSettings } from './slack-settings';

export interface SlackDirectoryOptions {
  /** How long a group's members are reused, in ms (default 60 s). */
  ttlMs?: number;
  now?: () => number;
}

/** A notify name's user group, or a user group ID given directly; undefined when neither. */
export function userGroupOf(
  groups: SlackSettings['groups'],
  nameOrId: string,
): { id: string; setting: string } | undefined {
  const mapped = groups[nameOrId];
  if (mapped !== undefined) return { id: mapped, setting: `slack.groups.${nameOrId}` };
  if (userGroupIdSchema.safeParse(nameOrId).success) return { id: nameOrId, setting: `user group ${nameOrId}` };
  return undefined;
}

export class SlackDirectory {
  private readonly cache = new Map<string, { users: string[]; until: number }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly api: SlackApi,
    private readonly groups: SlackSettings['groups'],
    { ttlMs = 60_000, now = Date.now }: SlackDirectoryOptions = {},
  ) {
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** The user IDs in the group a notify name maps to (slack.groups), or in the user group with that ID. */
  async membersOf(groupNameOrId: string): Promise<string[]> {
    const group = userGroupOf(this.groups, groupNameOrId);
    if (!group) {
      throw new SlackError(
        `slack: ${JSON.stringify(groupNameOrId)} is neither a slack.groups name (${Object.keys(this.groups).join(', ') || 'none configured'}) nor a user group ID (S…): add slack.groups.${groupNameOrId}: S…`,
        'usergroups.users.list',
        false,
      );
    }
    const cached = this.cache.get(group.id);
    if (cached && cached.until > this.now()) return cached.users;
    const { users = [] } = await this.api.call(
      'usergroups.users.list',
      { doing: `listing the members of ${group.setting} (${group.id})`, group },
      (client) => client.usergroups.users.list({ usergroup: group.id }),
    );
    this.cache.set(group.id, { users, until: this.now() + this.ttlMs });
    return users;
  }
}
