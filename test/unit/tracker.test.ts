import type { AlertNotification, TrackedAlerts } from '../../alerts/tracker';
import { isFiring, recordNotification } from '../../alerts/tracker';

const ZERO_TIME = '0001-01-01T00:00:00Z';
const T0 = '2026-11-28T10:00:00.123456789Z';
const T1 = '2026-11-28T11:00:00.5Z';

const firing = (fingerprint: string, startsAt = T0): AlertNotification => ({
  fingerprint,
  status: 'firing',
  startsAt,
  endsAt: ZERO_TIME,
});
const resolvedAt = (fingerprint: string, startsAt = T0, endsAt = '2026-11-28T10:30:00Z'): AlertNotification => ({
  fingerprint,
  status: 'resolved',
  startsAt,
  endsAt,
});

describe('recordNotification', () => {
  test('a new alert fires and is tracked', () => {
    const alerts: TrackedAlerts = {};
    expect(recordNotification(alerts, firing('fp1'))).toBe('fired');
    expect(alerts).toEqual({ fp1: { status: 'firing', startsAt: T0 } });
    expect(isFiring(alerts)).toBe(true);
  });

  test('the same episode again (repeat_interval, group_interval, an HA peer) is repeated and changes nothing', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('fp1'));
    const before = structuredClone(alerts);
    expect(recordNotification(alerts, firing('fp1'))).toBe('repeated');
    expect(recordNotification(alerts, firing('fp1'))).toBe('repeated');
    expect(alerts).toEqual(before);
  });

  test('the same instant written with another precision is the same episode', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('fp1', '2026-11-28T10:00:00Z'));
    expect(recordNotification(alerts, firing('fp1', '2026-11-28T10:00:00.000000000Z'))).toBe('repeated');
    expect(recordNotification(alerts, firing('fp1', '2026-11-28T11:00:00+01:00'))).toBe('repeated');
  });

  test('the resolution of the episode resolves it; a copy of the resolution is repeated', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('fp1'));
    expect(recordNotification(alerts, resolvedAt('fp1'))).toBe('resolved');
    expect(alerts.fp1).toEqual({ status: 'resolved', startsAt: T0 });
    expect(isFiring(alerts)).toBe(false);
    expect(recordNotification(alerts, resolvedAt('fp1'))).toBe('repeated');
    expect(alerts.fp1).toEqual({ status: 'resolved', startsAt: T0 });
  });

  test('a late firing copy of a resolved episode (an HA peer, out of order) is stale and does not re-fire', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('fp1'));
    recordNotification(alerts, resolvedAt('fp1'));
    expect(recordNotification(alerts, firing('fp1'))).toBe('stale');
    expect(alerts.fp1?.status).toBe('resolved');
    expect(isFiring(alerts)).toBe(false);
  });

  test('a new episode after the resolution fires again', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('fp1', T0));
    recordNotification(alerts, resolvedAt('fp1', T0));
    expect(recordNotification(alerts, firing('fp1', T1))).toBe('fired');
    expect(alerts.fp1).toEqual({ status: 'firing', startsAt: T1 });
    expect(isFiring(alerts)).toBe(true);
  });

  test('notifications about an earlier episode, firing or resolved, are stale once a later one is known', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('fp1', T0));
    recordNotification(alerts, resolvedAt('fp1', T0));
    recordNotification(alerts, firing('fp1', T1));
    expect(recordNotification(alerts, firing('fp1', T0))).toBe('stale');
    expect(recordNotification(alerts, resolvedAt('fp1', T0))).toBe('stale');
    expect(alerts.fp1).toEqual({ status: 'firing', startsAt: T1 });
    expect(isFiring(alerts)).toBe(true);
  });

  test('a resolution that arrives before its firing: the late firing copy is stale', () => {
    const alerts: TrackedAlerts = {};
    expect(recordNotification(alerts, resolvedAt('fp1'))).toBe('resolved');
    expect(recordNotification(alerts, firing('fp1'))).toBe('stale');
    expect(isFiring(alerts)).toBe(false);
  });

  test('the resolution of a newer episode than the one firing resolves the alert', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('fp1', T0));
    expect(recordNotification(alerts, resolvedAt('fp1', T1, '2026-11-28T11:10:00Z'))).toBe('resolved');
    expect(alerts.fp1).toEqual({ status: 'resolved', startsAt: T1 });
  });

  test('the result does not depend on endsAt (the zero time on firing alerts, a real time on resolved ones)', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, { fingerprint: 'fp1', status: 'firing', startsAt: T0, endsAt: '2026-11-28T10:05:00Z' });
    expect(recordNotification(alerts, firing('fp1'))).toBe('repeated');
  });

  test('a full life with duplicates and reordering', () => {
    const alerts: TrackedAlerts = {};
    const effects = [
      firing('fp1', T0),
      firing('fp1', T0), // repeat
      resolvedAt('fp1', T0),
      firing('fp1', T0), // HA peer, late
      resolvedAt('fp1', T0), // HA peer
      firing('fp1', T1), // a new episode
      resolvedAt('fp1', T0), // very late copy of the old resolution
      resolvedAt('fp1', T1),
    ].map((notification) => recordNotification(alerts, notification));
    expect(effects).toEqual(['fired', 'repeated', 'resolved', 'stale', 'repeated', 'fired', 'stale', 'resolved']);
    expect(isFiring(alerts)).toBe(false);
  });
});

describe('several alerts (fingerprints) behind one target', () => {
  test('the target fires while any of its alerts fires', () => {
    const alerts: TrackedAlerts = {};
    expect(isFiring(alerts)).toBe(false);
    expect(recordNotification(alerts, firing('fp-chat-acme'))).toBe('fired');
    expect(recordNotification(alerts, firing('fp-chat-acme-tokens'))).toBe('fired');
    expect(recordNotification(alerts, resolvedAt('fp-chat-acme'))).toBe('resolved');
    expect(isFiring(alerts)).toBe(true);
    expect(recordNotification(alerts, resolvedAt('fp-chat-acme-tokens'))).toBe('resolved');
    expect(isFiring(alerts)).toBe(false);
  });

  test('fingerprints are tracked independently', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('a', T1));
    // An earlier startsAt on another fingerprint is not stale.
    expect(recordNotification(alerts, firing('b', T0))).toBe('fired');
    expect(Object.keys(alerts).sort()).toEqual(['a', 'b']);
  });

  test('the tracked state survives a JSON round trip (continue-as-new)', () => {
    const alerts: TrackedAlerts = {};
    recordNotification(alerts, firing('a'));
    recordNotification(alerts, resolvedAt('b'));
    const carried = JSON.parse(JSON.stringify(alerts)) as TrackedAlerts;
    expect(recordNotification(carried, firing('a'))).toBe('repeated');
    expect(recordNotification(carried, firing('b'))).toBe('stale');
    expect(isFiring(carried)).toBe(true);
  });
});
