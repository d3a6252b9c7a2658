// The Notifier over Slack's Web API: notifications, approval requests with buttons (updated once decided),
// reminders and escalations in the request's thread, and war-room channels.
import type { ChatPostMessageArguments } from '@slack/web-api';
import type { Logger } from '../../observability/logger';
import type {
  ApprovalNudge,
  ApprovalOutcome,
  ApprovalRequest,
  CapaNotice,
  CapaReminder,
  MessageRef,
  Notification,
  Notifier,
  ReportPost,
  RunReference,
  WarRoomRequest,
  WarRoomStatus,
} from '../notifier';
import { capaMessage, capaReminderText } from './capa-message';
import { SlackApi, SlackError } from './slack-api';
import { SlackDirectory, userGroupOf } from './slack-directory';
import {
  approvalMessage,
  approvalPointerText,
  escapeText,
  groupMention,
  nudgeText,
  notificationMessage,
  reportMessage,
  warRoomMessage,
  warRoomStatusMessage,
  type SlackMessage,
} from './slack-messages';
import type { SlackSettings } from './slack-settings';

export interface SlackNotifierOptions {
  /** The run's page (e.g. in the Temporal UI), linked from notifications and war-rooms; null or absent: no link. */
  runUrl?: (run: RunReference) => string | null;
  /** Shares group membership (and its cache) with the approval endpoint; default: a directory of its own. */
  directory?: SlackDirectory;
}

interface ChannelChoice {
  id: string;
  /** The setting that chose it, for error messages. */
  setting: string;
}

const MAX_CHANNEL_NAME = 80;
// conversations.invite takes at most 1000 users per call.
const INVITE_BATCH = 1_000;
const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** A war-room name as Slack accepts it: lowercase letters, digits, - and _, at most 80 characters. */
export function warRoomChannelName(name: string): string {
  const sanitised = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, MAX_CHANNEL_NAME)
    .replace(/[-_]+$/, '');
  if (sanitised === '')
    throw new SlackError(
      `war-room name ${JSON.stringify(name)} has no letters or digits to name a Slack channel with`,
      'conversations.create',
      false,
    );
  return sanitised;
}

interface ChannelInfo {
  id: string;
  isMember: boolean;
}

export class SlackNotifier implements Notifier {
  readonly directory: SlackDirectory;
  private readonly api: SlackApi;
  private readonly runUrl: (run: RunReference) => string | null;

  constructor(
    private readonly settings: SlackSettings,
    private readonly logger: Logger,
    options: SlackNotifierOptions = {},
  ) {
    this.api = new SlackApi(settings, logger);
    this.directory = options.directory ?? new SlackDirectory(this.api, settings.groups);
    this.runUrl = options.runUrl ?? (() => null);
  }

  private channelFor(name: string | undefined): ChannelChoice {
    const mapped = name === undefined ? undefined : this.settings.channels[name];
    if (mapped !== undefined) return { id: mapped, setting: `slack.channels.${name}` };
    return { id: this.settings.defaultChannel, setting: 'slack.defaultChannel' };
  }

  private async post(
    channel: ChannelChoice,
    doing: string,
    message: SlackMessage | { text: string },
    thread?: { thread_ts: string; reply_broadcast: boolean },
  ) {
    const args: ChatPostMessageArguments = thread
      ? { channel: channel.id, ...message, ...thread, unfurl_links: false }
      : { channel: channel.id, ...message, unfurl_links: false };
    const response = await this.api.call(
      'chat.postMessage',
      { doing: `${doing} to ${channel.setting} (${channel.id})`, channel },
      (client) => client.chat.postMessage(args),
    );
    if (response.ts === undefined)
      throw new SlackError(
        `slack chat.postMessage (${doing}) answered ok without a message ts`,
        'chat.postMessage',
        true,
      );
    return { channel: response.channel ?? channel.id, ts: response.ts };
  }

  async notify(notification: Notification): Promise<void> {
    const message = notificationMessage(notification, this.runUrl(notification.run));
    for (const channel of this.channelsFor(notification.to))
      await this.post(channel, 'posting a notification', message);
  }

  async postReport(report: ReportPost): Promise<void> {
    const message = reportMessage(report);
    for (const channel of this.channelsFor(report.to)) await this.post(channel, 'posting a review', message);
  }

  /** The channels of these notify names, each once, in order. */
  private channelsFor(names: readonly string[]): ChannelChoice[] {
    return [...new Map(names.map((name) => this.channelFor(name)).map((channel) => [channel.id, channel])).values()];
  }

  private async permalinkOf(ref: { channel: string; ts: string }, request: ApprovalRequest): Promise<string | null> {
    const channel = { id: ref.channel, setting: `the approval request's channel` };
    const { permalink } = await this.api.call(
      'chat.getPermalink',
      { doing: `linking to the approval request for ${request.stepId}`, channel },
      (client) => client.chat.getPermalink({ channel: ref.channel, message_ts: ref.ts }),
    );
    return permalink ?? null;
  }

  /**
   * The request, with its buttons, goes to the first name's channel; the other names' channels get
   * a link to it. One message holds the buttons, so it alone is settled, and nobody is left looking
   * at buttons that no longer decide anything. A link that cannot be posted is logged, not retried:
   * retrying would post the request, buttons and all, a second time.
   */
  async requestApproval(request: ApprovalRequest): Promise<MessageRef> {
    const [home = this.channelFor(undefined), ...others] = this.channelsFor(request.to);
    const ref = await this.post(home, `posting the approval request for ${request.stepId}`, approvalMessage(request));
    if (others.length === 0) return ref;
    try {
      const text = approvalPointerText(request, await this.permalinkOf(ref, request));
      for (const channel of others)
        await this.post(channel, `pointing to the approval request for ${request.stepId}`, { text });
    } catch (error) {
      this.logger.warn(
        { err: error, stepId: request.stepId, channels: others.map(({ id }) => id) },
        'slack: could not point every channel to the approval request; it waits in its own channel',
      );
    }
    return ref;
  }

  async settleApproval(ref: MessageRef, request: ApprovalRequest, outcome: ApprovalOutcome): Promise<void> {
    if (ref === null) return;
    const { text, blocks } = approvalMessage(request, outcome);
    const channel = { id: ref.channel, setting: `the approval request's channel` };
    await this.api.call(
      'chat.update',
      {
        doing: `replacing the buttons of the approval request for ${request.stepId} (${ref.channel} ${ref.ts})`,
        channel,
      },
      (client) => client.chat.update({ channel: ref.channel, ts: ref.ts, text, blocks }),
    );
  }

  private mentions(names: string[]): string[] {
    return names.map((name) => {
      const group = userGroupOf(this.settings.groups, name);
      if (group) return groupMention(group.id);
      this.logger.warn(
        { notifyName: name },
        `slack: escalation cannot mention ${name}: add slack.groups.${name}: S… (its user group ID)`,
      );
      return `@${name}`;
    });
  }

  async nudgeApproval(ref: MessageRef, request: ApprovalRequest, nudge: ApprovalNudge): Promise<void> {
    const escalation = nudge.kind === 'escalation';
    const mentions = escalation ? this.mentions(nudge.mention) : [];
    const text = nudgeText(request, nudge, mentions, null);
    const doing = `posting the ${nudge.kind} for ${request.stepId}`;
    const requestChannel =
      ref === null ? this.channelFor(request.to[0]) : { id: ref.channel, setting: `the approval request's channel` };
    // In the request's thread; an escalation is also shown in the channel itself.
    await this.post(
      requestChannel,
      doing,
      { text },
      ref === null ? undefined : { thread_ts: ref.ts, reply_broadcast: escalation },
    );
    if (!escalation) return;

    const elsewhere = this.channelsFor(nudge.alsoTo).filter((channel) => channel.id !== requestChannel.id);
    if (elsewhere.length === 0) return;
    const escalationText = nudgeText(
      request,
      nudge,
      mentions,
      ref === null ? null : await this.permalinkOf(ref, request),
    );
    for (const channel of elsewhere) await this.post(channel, doing, { text: escalationText });
  }

  private async createOrFindChannel(name: string): Promise<ChannelInfo> {
    const doing = `opening the war-room #${name}`;
    try {
      const created = await this.api.call('conversations.create', { doing }, (client) =>
        client.conversations.create({ name, is_private: false }),
      );
      if (created.channel?.id === undefined)
        throw new SlackError(
          `slack conversations.create (${doing}) answered ok without a channel id`,
          'conversations.create',
          true,
        );
      return { id: created.channel.id, isMember: true };
    } catch (error) {
      if (!(error instanceof SlackError) || error.slackError !== 'name_taken') throw error;
    }
    for (let cursor: string | undefined; ;) {
      const page = await this.api.call(
        'conversations.list',
        { doing: `finding the existing war-room #${name}` },
        (client) => client.conversations.list({ types: 'public_channel', exclude_archived: false, limit: 200, cursor }),
      );
      const existing = page.channels?.find((channel) => channel.name === name);
      if (existing?.id !== undefined) {
        if (existing.is_archived) {
          throw new SlackError(
            `slack: the war-room #${name} (${existing.id}) exists but is archived: unarchive it in Slack, or start the war-room under another name`,
            'conversations.create',
            false,
            'is_archived',
          );
        }
        return { id: existing.id, isMember: existing.is_member === true };
      }
      cursor = page.response_metadata?.next_cursor || undefined;
      if (cursor === undefined) break;
    }
    throw new SlackError(
      `slack: a channel named #${name} exists but the bot cannot see it (a private channel?): invite the bot to it, or start the war-room under another name`,
      'conversations.create',
      false,
      'name_taken',
    );
  }

  /** Invites `users`; answers those Slack refused (deactivated, unknown…), as "<@U…> (reason)". */
  private async invite(channel: ChannelChoice, users: string[]): Promise<string[]> {
    const refused: string[] = [];
    for (let start = 0; start < users.length; start += INVITE_BATCH) {
      const batch = users.slice(start, start + INVITE_BATCH);
      try {
        // force: the valid users are invited even when others cannot be (already there, deactivated, the bot itself).
        const { errors = [] } = await this.api.call(
          'conversations.invite',
          { doing: `inviting ${batch.length} people to the war-room`, channel },
          (client) => client.conversations.invite({ channel: channel.id, users: batch.join(','), force: true }),
        );
        for (const { user, error } of errors)
          if (error !== 'already_in_channel') refused.push(`<@${user ?? '?'}> (${error ?? 'refused'})`);
      } catch (error) {
        if (!(error instanceof SlackError) || error.slackError !== 'already_in_channel') throw error;
      }
    }
    return refused;
  }

  async openWarRoom({
    name: requestedName,
    invite,
    run,
  }: WarRoomRequest): Promise<{ location: string; statusMessage: MessageRef }> {
    const name = warRoomChannelName(requestedName);
    const info = await this.createOrFindChannel(name);
    const channel = { id: info.id, setting: `the war-room #${name}` };
    if (!info.isMember) {
      await this.api.call('conversations.join', { doing: `joining the war-room #${name}`, channel }, (client) =>
        client.conversations.join({ channel: info.id }),
      );
    }

    const users = new Set<string>();
    const invited: string[] = [];
    const notInvited: string[] = [];
    for (const who of invite) {
      if (SLACK_USER_ID.test(who)) {
        users.add(who);
        invited.push(`<@${who}>`);
      } else if (userGroupOf(this.settings.groups, who)) {
        const members = await this.directory.membersOf(who);
        members.forEach((user) => users.add(user));
        invited.push(`${who} (${members.length} ${members.length === 1 ? 'person' : 'people'})`);
      } else {
        this.logger.warn(
          { warRoom: name, notifyName: who },
          `slack: war-room #${name} cannot invite ${who}: add slack.groups.${who}: S… (its user group ID)`,
        );
        notInvited.push(`${escapeText(who)} (no slack.groups entry)`);
      }
    }
    const refused = await this.invite(channel, [...users]);
    if (refused.length > 0)
      this.logger.warn(
        { warRoom: name, refused },
        `slack: war-room #${name}: Slack refused to invite ${refused.join(', ')}`,
      );
    await this.post(
      channel,
      'posting the run summary',
      warRoomMessage(run, this.runUrl(run), invited, [...notInvited, ...refused]),
    );
    const statusMessage = await this.post(channel, 'posting the live status', warRoomStatusMessage(run, null));
    return { location: `#${name} (${info.id})`, statusMessage };
  }

  async updateWarRoomStatus(ref: MessageRef, run: RunReference, status: WarRoomStatus): Promise<void> {
    if (ref === null) return;
    const { text, blocks } = warRoomStatusMessage(run, status);
    const channel = { id: ref.channel, setting: 'the war-room' };
    await this.api.call(
      'chat.update',
      { doing: `updating the war-room status of ${run.workflowId} (${ref.channel} ${ref.ts})`, channel },
      (client) => client.chat.update({ channel: ref.channel, ts: ref.ts, text, blocks }),
    );
  }

  /** The CAPA, with its buttons, goes to the first notify name's channel; reminders go to its thread. */
  async postCapa(notice: CapaNotice): Promise<MessageRef> {
    const [home = this.channelFor(undefined)] = this.channelsFor(notice.status.opening.notifyTo);
    return this.post(home, `posting the CAPA ${notice.status.capaId}`, capaMessage(notice));
  }

  async updateCapa(ref: MessageRef, notice: CapaNotice): Promise<void> {
    if (ref === null) return;
    const { text, blocks } = capaMessage(notice);
    const channel = { id: ref.channel, setting: `the CAPA's channel` };
    await this.api.call(
      'chat.update',
      { doing: `updating the CAPA ${notice.status.capaId} (${ref.channel} ${ref.ts})`, channel },
      (client) => client.chat.update({ channel: ref.channel, ts: ref.ts, text, blocks }),
    );
  }

  /** In the CAPA's thread, shown in the channel too once it is overdue; the owner mentioned, else the groups. */
  async remindCapa(ref: MessageRef, notice: CapaNotice, { overdue }: CapaReminder): Promise<void> {
    const { owner } = notice.status.fields;
    const mention = owner
      ? SLACK_USER_ID.test(owner)
        ? `<@${owner}>`
        : escapeText(owner)
      : this.mentions(notice.status.opening.notifyTo).join(' ');
    const channel =
      ref === null
        ? this.channelFor(notice.status.opening.notifyTo[0])
        : { id: ref.channel, setting: `the CAPA's channel` };
    await this.post(
      channel,
      `reminding of the CAPA ${notice.status.capaId}`,
      { text: capaReminderText(notice, overdue, mention) },
      ref === null ? undefined : { thread_ts: ref.ts, reply_broadcast: overdue },
    );
  }
}
