// How runs tell people what they do. Without Slack configured, notifications go to the log as
// structured JSON, so the embedded stack works end to end.
import type { Logger } from '../observability/logger';
import { capaTitle, missingForClose, type CapaStatus } from '../workflows/capa/definitions';

export interface RunReference {
  workflowId: string;
  playbook: string;
  target: string;
  severity: string;
}

export interface Notification {
  to: string[];
  message: string;
  run: RunReference;
}

export interface WarRoomRequest {
  name: string;
  invite: string[];
  run: RunReference;
}

/** An approval step asking people: what will change, why, on what, until when. */
export interface ApprovalRequest {
  run: RunReference;
  stepId: string;
  /** What the approver is asked to allow, e.g. "Throttle acme on chat to 20 requests/s". */
  summary: string;
  /**
   * Why: the alert, its summary and value, e.g. "LLMSpendBurnRateHigh: spend on chat/acme is 6.2x its 14-day average".
   */
  reason: string;
  /** The estimated cost impact, when the run knows it (e.g. from a budget check), else null. */
  costImpact: string | null;
  /** ISO time when the step's declared outcome applies. */
  deadline: string;
  /** Distinct approvers needed (2 for four-eyes steps). */
  approvalsNeeded: number;
  /** Where to post: notify names, e.g. finops, sre (config maps them to channels). */
  to: string[];
  links: { alert: string | null; run: string };
}

/** Where an approval request was posted, to update it later; null where nothing was posted (the log). */
export type MessageRef = { channel: string; ts: string } | null;

/** A scheduled review (reviews/): a title, a summary up front, sections of facts, and where the whole report is kept. */
export interface ReportPost {
  /** Notify names, e.g. finops. */
  to: string[];
  title: string;
  summary: string;
  sections: Array<{ title: string; lines: string[] }>;
  /** Where the Markdown report and its chart were written. */
  files: string[];
}

export interface ApprovalDecisionRecord {
  by: string;
  approve: boolean;
  at: string;
  reason?: string | undefined;
}

/** The end of an approval: who decided what and when, so nobody clicks a stale button. */
export interface ApprovalOutcome {
  outcome: 'approved' | 'rejected' | 'timed out: approved' | 'timed out: rejected' | 'moot: the alert resolved';
  decisions: ApprovalDecisionRecord[];
}

/** A nudge while an approval waits: a reminder, or an escalation that also pages groups and another channel. */
export interface ApprovalNudge {
  kind: 'reminder' | 'escalation';
  /** Groups to mention (notify names mapped to user groups), e.g. sre-oncall. */
  mention: string[];
  /** Extra places to post (notify names), e.g. incidents. */
  alsoTo: string[];
}

/** What a war-room's live status message shows, kept current as the run moves. */
export interface WarRoomStatus {
  state: string;
  currentStep: string | null;
  /** The changes in force, in words. */
  changes: string[];
  /** The approval waiting, in words, or null. */
  pendingApproval: string | null;
  nextDeadline: string | null;
  /** What the changes save, in words (playbooks with savings), or null. */
  savings?: string | null;
}

/** A CAPA as people are shown it, with the links the activity adds. */
export interface CapaNotice {
  status: CapaStatus;
  /** The CAPA's and its run's pages in the Temporal UI. */
  links: { capa: string; run: string };
}

/** A reminder of an open CAPA: to its owner when it has one, else to the people it was posted to. */
export interface CapaReminder {
  overdue: boolean;
}

export interface Notifier {
  notify(notification: Notification): Promise<void>;
  /** Posts a scheduled review's digest (reviews/): in Slack as Block Kit sections, else to the log. */
  postReport(report: ReportPost): Promise<void>;
  /** Opens (or finds, if it exists) the war-room named `name`; answers where people meet and its status message. */
  openWarRoom(request: WarRoomRequest): Promise<{ location: string; statusMessage: MessageRef }>;
  /** Replaces the war-room's status message with the run's current status. */
  updateWarRoomStatus(ref: MessageRef, run: RunReference, status: WarRoomStatus): Promise<void>;
  /** Asks for a decision (with Approve and Reject buttons in Slack). */
  requestApproval(request: ApprovalRequest): Promise<MessageRef>;
  /** Replaces the request's buttons with the outcome: who, when, what. */
  settleApproval(ref: MessageRef, request: ApprovalRequest, outcome: ApprovalOutcome): Promise<void>;
  nudgeApproval(ref: MessageRef, request: ApprovalRequest, nudge: ApprovalNudge): Promise<void>;
  /** Posts a CAPA where its run's people are (in Slack with Fill in and Close buttons). */
  postCapa(notice: CapaNotice): Promise<MessageRef>;
  /** Replaces the CAPA's message with its current state (a closed one without buttons). */
  updateCapa(ref: MessageRef, notice: CapaNotice): Promise<void>;
  remindCapa(ref: MessageRef, notice: CapaNotice, reminder: CapaReminder): Promise<void>;
}

export class LogNotifier implements Notifier {
  constructor(private readonly logger: Logger) {}

  notify({ to, message, run }: Notification): Promise<void> {
    this.logger.info({ notification: { to, message }, run }, `notify ${to.join(', ')}: ${message}`);
    return Promise.resolve();
  }

  postReport({ to, title, summary, sections, files }: ReportPost): Promise<void> {
    this.logger.info({ report: { to, title, summary, sections, files } }, `${title}: ${summary} (${files.join(', ')})`);
    return Promise.resolve();
  }

  openWarRoom({ name, invite, run }: WarRoomRequest): Promise<{ location: string; statusMessage: MessageRef }> {
    this.logger.warn({ warRoom: { name, invite }, run }, `war-room ${name}: paging ${invite.join(', ')}`);
    // The log is its own live status: nothing to keep updated.
    return Promise.resolve({ location: `log (no Slack configured): war-room ${name}`, statusMessage: null });
  }

  updateWarRoomStatus(_ref: MessageRef, run: RunReference, status: WarRoomStatus): Promise<void> {
    this.logger.info({ warRoomStatus: status, run }, `war-room status of ${run.workflowId}: ${status.state}`);
    return Promise.resolve();
  }

  requestApproval(request: ApprovalRequest): Promise<MessageRef> {
    const { run, stepId, summary, reason, deadline, approvalsNeeded } = request;
    this.logger.warn(
      { approval: { stepId, summary, reason, deadline, approvalsNeeded }, run },
      `approval needed for ${stepId} of ${run.workflowId}: ${summary} (decide with: finops-soar approve|reject ${run.workflowId} ${stepId} --by USER)`,
    );
    return Promise.resolve(null);
  }

  settleApproval(
    _ref: MessageRef,
    { run, stepId }: ApprovalRequest,
    { outcome, decisions }: ApprovalOutcome,
  ): Promise<void> {
    this.logger.info(
      { approval: { stepId, outcome, decisions }, run },
      `approval for ${stepId} of ${run.workflowId}: ${outcome}`,
    );
    return Promise.resolve();
  }

  nudgeApproval(
    _ref: MessageRef,
    { run, stepId, deadline }: ApprovalRequest,
    { kind, mention }: ApprovalNudge,
  ): Promise<void> {
    this.logger.warn(
      { approval: { stepId, deadline, kind, mention }, run },
      `${kind}: ${stepId} of ${run.workflowId} still waits for a decision (until ${deadline})`,
    );
    return Promise.resolve();
  }

  postCapa({ status, links }: CapaNotice): Promise<MessageRef> {
    const { capaId, opening } = status;
    this.logger.warn(
      { capa: { capaId, alert: opening.alert, run: opening.run, link: links.capa }, to: opening.notifyTo },
      `CAPA opened for ${opening.run.workflowId}: ${capaTitle(opening)} (fill it with: finops-soar capa fill ${capaId} …)`,
    );
    return Promise.resolve(null);
  }

  updateCapa(_ref: MessageRef, { status }: CapaNotice): Promise<void> {
    const { capaId, state, fields, closed } = status;
    this.logger.info({ capa: { capaId, state, fields, closed } }, `CAPA ${capaId} is ${state}`);
    return Promise.resolve();
  }

  remindCapa(_ref: MessageRef, { status }: CapaNotice, { overdue }: CapaReminder): Promise<void> {
    const { capaId, fields, opening } = status;
    const who = fields.owner ?? opening.notifyTo.join(', ');
    this.logger.warn(
      { capa: { capaId, owner: fields.owner ?? null, dueDate: fields.dueDate ?? null, overdue } },
      `${who}: CAPA ${capaId} is still open${overdue ? `, overdue since ${fields.dueDate}` : ''}; missing ${missingForClose(fields).join(', ') || 'nothing: close it'}`,
    );
    return Promise.resolve();
  }
}
