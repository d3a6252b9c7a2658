// A local server speaking Slack's Web API for the methods finops-soar calls (POST /api/<method>, form or JSON
// bodies, bearer token, {ok:true,…} / {ok:false,error} answers, 429 with Retry-After on demand), keeping
// channels, messages, user groups and members, and logging every call as received. It also answers POSTs to
// response_url paths (/actions/…), recording them, for the interactivity endpoint's ephemeral replies, and records
// the modals views.open opens.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServerFaults, sleep } from '../../simulator/faults';

export const SLACK_BOT_TOKEN = 'xoxb-test-0123456789-abcdef';
export const SLACK_SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
export const BOT_USER_ID = 'UBOT';

export interface SlackCall {
  method: string;
  contentType: string | undefined;
  /** The bearer token sent, or the form's token field. */
  token: string | undefined;
  /** Form fields as sent (strings), with JSON-valued fields (blocks, attachments, metadata) parsed. */
  body: Record<string, unknown>;
}

export interface ResponseUrlPost {
  path: string;
  contentType: string | undefined;
  body: unknown;
}

export interface SlackMessageRecord {
  ts: string;
  user: string;
  text: string | undefined;
  blocks: unknown;
  threadTs: string | undefined;
  replyBroadcast: boolean;
  edited: boolean;
}

interface ChannelRecord {
  id: string;
  name: string;
  isPrivate: boolean;
  archived: boolean;
  members: Set<string>;
  messages: SlackMessageRecord[];
}

/** What the next call to a method answers instead of doing its work. */
export type SlackFault = { error: string; needed?: string } | { status: number; retryAfterSeconds?: number };

type Answer = Record<string, unknown>;
const failure = (error: string, extra: Answer = {}): Answer => ({ ok: false, error, ...extra });

const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata', 'view']);
const CHANNEL_NAME = /^[a-z0-9_-]{1,80}$/;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function parseBody(contentType: string | undefined, raw: string): Record<string, unknown> {
  if (contentType?.startsWith('application/json'))
    return raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
  const body: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) body[key] = JSON_FIELDS.has(key) ? JSON.parse(value) : value;
  return body;
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const flag = (value: unknown) => value === true || value === 'true';

export class SlackApiServer {
  readonly calls: SlackCall[] = [];
  /** Modals opened with views.open, in order. */
  readonly views: Array<{ triggerId: string; view: Record<string, unknown> }> = [];
  readonly responseUrlPosts: ResponseUrlPost[] = [];
  /** Faults on a rate (the fault tests): answered before the method does its work. */
  readonly rateFaults = new ServerFaults();
  private readonly channels = new Map<string, ChannelRecord>();
  private readonly userGroups = new Map<string, string[]>();
  private readonly users = new Set<string>([BOT_USER_ID]);
  private readonly faults = new Map<string, SlackFault[]>();
  private messageCount = 0;
  private channelCount = 0;
  private server: Server | undefined;
  url = '';

  /** The base URL for WebClient's slackApiUrl. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** A response_url Slack would put in a payload, answered and recorded by this server. */
  responseUrl(id: string): string {
    return `${this.url}/actions/${id}`;
  }

  addChannel({
    id,
    name,
    members = [],
    botIsMember = true,
    archived = false,
    isPrivate = false,
  }: {
    id: string;
    name: string;
    members?: string[];
    botIsMember?: boolean;
    archived?: boolean;
    isPrivate?: boolean;
  }): void {
    members.forEach((user) => this.users.add(user));
    this.channels.set(id, {
      id,
      name,
      isPrivate,
      archived,
      members: new Set([...members, ...(botIsMember ? [BOT_USER_ID] : [])]),
      messages: [],
    });
  }

  addUserGroup(id: string, users: string[]): void {
    users.forEach((user) => this.users.add(user));
    this.userGroups.set(id, users);
  }

  /** The next call to `method` answers `fault` (queued in order). */
  failNext(method: string, fault: SlackFault): void {
    this.faults.set(method, [...(this.faults.get(method) ?? []), fault]);
  }

  callsTo(method: string): SlackCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  messages(channel: string): SlackMessageRecord[] {
    return this.channels.get(channel)?.messages ?? [];
  }

  members(channel: string): string[] {
    return [...(this.channels.get(channel)?.members ?? [])];
  }

  channelNamed(name: string): { id: string; archived: boolean } | undefined {
    const channel = [...this.channels.values()].find((candidate) => candidate.name === name);
    return channel && { id: channel.id, archived: channel.archived };
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      void this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise(
      (resolve, reject) => this.server?.close((error) => (error ? reject(error) : resolve())) ?? resolve(),
    );
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', this.url).pathname;
    const contentType = request.headers['content-type'];
    const raw = await readBody(request);
    const reply = (status: number, answer: unknown, headers: Record<string, string> = {}): void => {
      response
        .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
        .end(JSON.stringify(answer));
    };

    if (request.method === 'POST' && path.startsWith('/actions/')) {
      this.responseUrlPosts.push({ path, contentType, body: raw === '' ? undefined : JSON.parse(raw) });
      return reply(200, { ok: true });
    }
    const method = /^\/api\/([a-zA-Z.]+)$/.exec(path)?.[1];
    if (request.method !== 'POST' || method === undefined) return reply(404, { ok: false, error: 'unknown_method' });

    const body = parseBody(contentType, raw);
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer ?? text(body['token']);
    this.calls.push({ method, contentType, token, body });

    const injected = this.rateFaults.rate?.draw('POST', method);
    if (injected?.kind === 'timeout' || injected?.kind === 'slow') await sleep(injected.delayMs);
    if (injected?.kind === 'throttle')
      return reply(429, failure('ratelimited'), { 'retry-after': String(injected.retryAfterSeconds) });
    if (injected && injected.kind !== 'slow') return reply(injected.status, failure('service_unavailable'));
    const fault = this.faults.get(method)?.shift();
    if (fault && 'status' in fault) {
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      return reply(fault.status, failure(fault.status === 429 ? 'ratelimited' : 'service_unavailable'), headers);
    }
    if (fault) return reply(200, failure(fault.error, fault.needed === undefined ? {} : { needed: fault.needed }));
    if (token === undefined) return reply(200, failure('not_authed'));
    if (token !== SLACK_BOT_TOKEN) return reply(200, failure('invalid_auth'));
    return reply(200, this.answer(method, body));
  }

  private answer(method: string, body: Record<string, unknown>): Answer {
    switch (method) {
      case 'chat.postMessage':
        return this.postMessage(body);
      case 'chat.update':
        return this.update(body);
      case 'chat.getPermalink':
        return this.permalink(body);
      case 'conversations.create':
        return this.create(body);
      case 'conversations.list':
        return this.list(body);
      case 'conversations.join':
        return this.join(body);
      case 'conversations.invite':
        return this.invite(body);
      // https://docs.slack.dev/reference/methods/views.open: a trigger_id (from an interaction, valid 3 s) and a view.
      case 'views.open': {
        const triggerId = text(body['trigger_id']);
        const view = body['view'] as Record<string, unknown> | undefined;
        if (!triggerId || typeof view !== 'object' || view === null) return failure('invalid_arguments');
        this.views.push({ triggerId, view });
        return { ok: true, view: { id: `V${String(this.views.length).padStart(8, '0')}`, ...view } };
      }
      case 'usergroups.users.list': {
        const users = this.userGroups.get(text(body['usergroup']) ?? '');
        return users ? { ok: true, users } : failure('no_such_subteam');
      }
      default:
        return failure('unknown_method');
    }
  }

  private channelInfo(channel: ChannelRecord) {
    return {
      id: channel.id,
      name: channel.name,
      is_channel: !channel.isPrivate,
      is_private: channel.isPrivate,
      is_archived: channel.archived,
      is_member: channel.members.has(BOT_USER_ID),
      num_members: channel.members.size,
    };
  }

  /** The channel named in the body, when the bot can see it. */
  private visibleChannel(id: unknown): ChannelRecord | undefined {
    const channel = this.channels.get(text(id) ?? '');
    return channel && (!channel.isPrivate || channel.members.has(BOT_USER_ID)) ? channel : undefined;
  }

  private postMessage(body: Record<string, unknown>): Answer {
    const channel = this.visibleChannel(body['channel']);
    if (!channel) return failure('channel_not_found');
    if (channel.archived) return failure('is_archived');
    if (!channel.members.has(BOT_USER_ID)) return failure('not_in_channel');
    if (text(body['text']) === undefined && body['blocks'] === undefined) return failure('no_text');
    this.messageCount += 1;
    const message: SlackMessageRecord = {
      ts: `${1_700_000_000 + this.messageCount}.000100`,
      user: BOT_USER_ID,
      text: text(body['text']),
      blocks: body['blocks'],
      threadTs: text(body['thread_ts']),
      replyBroadcast: flag(body['reply_broadcast']),
      edited: false,
    };
    channel.messages.push(message);
    return {
      ok: true,
      channel: channel.id,
      ts: message.ts,
      message: { type: 'message', user: message.user, ts: message.ts, text: message.text },
    };
  }

  private update(body: Record<string, unknown>): Answer {
    const channel = this.visibleChannel(body['channel']);
    if (!channel) return failure('channel_not_found');
    const message = channel.messages.find((candidate) => candidate.ts === body['ts']);
    if (!message) return failure('message_not_found');
    if (message.user !== BOT_USER_ID) return failure('cant_update_message');
    Object.assign(message, { text: text(body['text']), blocks: body['blocks'], edited: true });
    return { ok: true, channel: channel.id, ts: message.ts, text: message.text };
  }

  private permalink(body: Record<string, unknown>): Answer {
    const channel = this.visibleChannel(body['channel']);
    if (!channel) return failure('channel_not_found');
    const ts = text(body['message_ts']);
    if (!channel.messages.some((message) => message.ts === ts)) return failure('message_not_found');
    return {
      ok: true,
      channel: channel.id,
      permalink: `https://finops-test.slack.com/archives/${channel.id}/p${ts!.replace('.', '')}`,
    };
  }

  private create(body: Record<string, unknown>): Answer {
    const name = text(body['name']) ?? '';
    if (name === '') return failure('invalid_name_required');
    if (name.length > 80) return failure('invalid_name_maxlength');
    if (!CHANNEL_NAME.test(name)) return failure('invalid_name_specials');
    if ([...this.channels.values()].some((channel) => channel.name === name)) return failure('name_taken');
    this.channelCount += 1;
    const id = `C0WAR${this.channelCount}`;
    this.addChannel({ id, name, isPrivate: flag(body['is_private']) });
    return { ok: true, channel: this.channelInfo(this.channels.get(id)!) };
  }

  private list(body: Record<string, unknown>): Answer {
    const types = (text(body['types']) ?? 'public_channel').split(',');
    const limit = Number(text(body['limit']) ?? '100');
    const offset =
      body['cursor'] === undefined
        ? 0
        : Number(
            Buffer.from(text(body['cursor']) ?? '', 'base64')
              .toString('utf8')
              .replace(/^offset:/, ''),
          );
    const listed = [...this.channels.values()].filter(
      (channel) =>
        types.includes(channel.isPrivate ? 'private_channel' : 'public_channel') &&
        (!channel.isPrivate || channel.members.has(BOT_USER_ID)) &&
        !(flag(body['exclude_archived']) && channel.archived),
    );
    const page = listed.slice(offset, offset + limit);
    const next = offset + limit < listed.length ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '';
    return {
      ok: true,
      channels: page.map((channel) => this.channelInfo(channel)),
      response_metadata: { next_cursor: next },
    };
  }

  private join(body: Record<string, unknown>): Answer {
    const channel = this.visibleChannel(body['channel']);
    if (!channel) return failure('channel_not_found');
    if (channel.isPrivate) return failure('method_not_supported_for_channel_type');
    if (channel.archived) return failure('is_archived');
    channel.members.add(BOT_USER_ID);
    return { ok: true, channel: this.channelInfo(channel) };
  }

  private invite(body: Record<string, unknown>): Answer {
    const channel = this.visibleChannel(body['channel']);
    if (!channel) return failure('channel_not_found');
    if (!channel.members.has(BOT_USER_ID)) return failure('not_in_channel');
    const users = (text(body['users']) ?? '').split(',').filter((user) => user !== '');
    if (users.length === 0) return failure('no_user');
    const errors = users.flatMap((user) => {
      if (!this.users.has(user)) return [{ user, ok: false, error: 'user_not_found' }];
      if (user === BOT_USER_ID) return [{ user, ok: false, error: 'cant_invite_self' }];
      if (channel.members.has(user)) return [{ user, ok: false, error: 'already_in_channel' }];
      return [];
    });
    const valid = users.filter((user) => !errors.some((error) => error.user === user));
    // Without force any invalid user fails the whole call; with force the valid ones are invited.
    if (errors.length > 0 && (!flag(body['force']) || valid.length === 0)) return failure(errors[0]!.error, { errors });
    valid.forEach((user) => channel.members.add(user));
    return { ok: true, channel: this.channelInfo(channel), ...(errors.length > 0 ? { errors } : {}) };
  }
}

export async function startSlackApiServer(): Promise<SlackApiServer> {
  const server = new SlackApiServer();
  await server.start();
  return server;
}

/** X-Slack-Signature for a body, computed independently of notify/slack/signature.ts. */
export function slackSignature(body: string, timestamp: number, secret = SLACK_SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** A block_actions payload as Slack sends it when someone clicks an approval button. */
export function blockActionsPayload({
  user,
  actionId,
  value,
  channel,
  messageTs,
  responseUrl,
  actionTs = '1700000100.123456',
}: {
  user: string;
  actionId: string;
  value: string;
  channel: string;
  messageTs: string;
  responseUrl: string;
  actionTs?: string;
}) {
  return {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0TEST' },
    api_app_id: 'A0FINOPS',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: messageTs, channel_id: channel, is_ephemeral: false },
    trigger_id: '1234.5678.abcdef',
    team: { id: 'T0TEST', domain: 'finops-test' },
    channel: { id: channel, name: 'finops' },
    message: { type: 'message', ts: messageTs, user: BOT_USER_ID, text: 'Approval needed' },
    response_url: responseUrl,
    actions: [
      {
        action_id: actionId,
        block_id: 'approval',
        text: { type: 'plain_text', text: actionId },
        value,
        type: 'button',
        action_ts: actionTs,
      },
    ],
  };
}

/** The form body Slack POSTs to the interactivity endpoint: one field, payload, holding the JSON. */
export const interactivityFormBody = (payload: unknown) =>
  new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

/**
 * A view_submission payload as Slack sends it when someone submits a modal views.open opened: each input block's
 * element state under its block_id and action_id (`value` here), typed as the element is
 * (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload).
 */
export function viewSubmissionPayload(
  user: string,
  opened: { view: Record<string, unknown> },
  values: Record<string, { value?: string; selected_user?: string; selected_date?: string }>,
  viewId = 'V00000001',
) {
  const blocks = opened.view['blocks'] as Array<{ type: string; block_id?: string; element?: { type: string } }>;
  const state = Object.fromEntries(
    blocks
      .filter((block) => block.type === 'input' && block.block_id !== undefined)
      .map((block) => [block.block_id!, { value: { type: block.element!.type, ...values[block.block_id!] } }]),
  );
  return {
    type: 'view_submission',
    team: { id: 'T0TEST', domain: 'finops-test' },
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0TEST' },
    api_app_id: 'A0FINOPS',
    token: 'deprecated-verification-token',
    trigger_id: '1234.5678.submitted',
    view: {
      id: viewId,
      type: 'modal',
      callback_id: opened.view['callback_id'],
      private_metadata: opened.view['private_metadata'],
      state: { values: state },
      hash: '1700000200.abcdef',
    },
    response_urls: [],
  };
}
