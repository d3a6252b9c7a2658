// Each engine knob Kong can turn, as one plugin in one scope: what the plugin there means in the engine's words (read),
// and what to do to it for a value the engine asks (plan). A plugin that needs nothing but the value (rate-limiting,
// request-termination) the engine may create and later delete; one that needs secrets or service URLs
// (ai-semantic-cache, ai-prompt-compressor, ai-rate-limiting-advanced) must exist already, and the engine switches it
// on and off or edits its numbers. What Kong cannot do at all is gateway/gateway-knobs.ts's table.
import { notSetUp } from '../adapter';
import type { KongPlugin } from './kong-admin-client';
import type { KongScope, PluginAction } from './kong-plugins';
import { describeScope } from './kong-plugins';
import { CREATED_TAG, createdByEngine, refused } from './kong-records';

export interface KongKnob {
  plugin: string;
  /** The knob's value when this plugin (enabled or not) is the one set in the scope; `absent` when none is. */
  read(plugin: KongPlugin): unknown;
  absent: unknown;
  plan(plugin: KongPlugin | undefined, value: unknown, scope: KongScope): PluginAction;
}

const NONE: PluginAction = { kind: 'none' };

/** The rate-limiting periods (kong/plugins/rate-limiting/schema.lua); the engine sets only `second`. */
const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'];
/** The message of the request-termination plugins the engine makes. */
const CIRCUIT_MESSAGE = 'circuit open (finops-soar)';

const othersTags = (plugin: KongPlugin) => (plugin.tags ?? []).filter((tag) => !tag.startsWith('finops-soar'));
/** The plugin's tags without the mark of the engine's making: it is someone's now, and no later undo deletes it. */
const adopted = (plugin: KongPlugin) => (plugin.tags ?? []).filter((tag) => tag !== CREATED_TAG);
const shown = (value: unknown) => JSON.stringify(value);

/**
 * What someone else made of a plugin the engine created: the fields a person sets to make it theirs, which the engine
 * never writes (Kong's defaults for them are null, false or absent in every release). The engine's own fields (a rate
 * limit's `second`, a circuit's `enabled`) are not in it: they are the engine's to set back.
 */
function othersWork(plugin: KongPlugin, own: Record<string, unknown>, unset: string[]): string[] {
  const config = plugin.config;
  return [
    ...Object.entries(own)
      .filter(([field, value]) => config[field] !== value)
      .map(([field]) => `config.${field} ${shown(config[field])}`),
    ...unset
      .filter((field) => config[field] != null && config[field] !== false)
      .map((field) => `config.${field} ${shown(config[field])}`),
    ...othersTags(plugin).map((tag) => `tag ${tag}`),
  ];
}

/** Why the engine keeps a plugin it made, which someone else has changed since. */
const kept = (plugin: KongPlugin, scope: KongScope, changes: string[]) =>
  `${describeScope(scope)}: the ${plugin.name} plugin the engine made (${plugin.id}) was changed since by someone else (${changes.join(', ')})`;

/**
 * A request rate as rate-limiting's `config.second` (kong/plugins/rate-limiting/schema.lua). Counters are keyed by the
 * plugin's route and the identifier (policies/init.lua, get_local_key): `limit_by: service` on a route's plugin counts the
 * whole route, `limit_by: consumer` one consumer (on a route, or on every route for a consumer's own plugin).
 */
export const requestRate: KongKnob = {
  plugin: 'rate-limiting',
  absent: null,
  read: (plugin) => (plugin.enabled ? (plugin.config.second ?? null) : null),
  plan(plugin, value, scope) {
    const rps = value as number | null;
    // Taking back a limit of the engine's own plugin: someone switching it off since does not keep it alive.
    if (plugin && rps === null && createdByEngine(plugin.tags)) return takeBackLimit(plugin, scope);
    if (plugin && !plugin.enabled)
      throw refused(
        `${describeScope(scope)} has a disabled rate-limiting plugin (${plugin.id}); the engine does not re-enable limits someone switched off: enable or delete it first`,
      );
    const current = plugin ? ((plugin.config.second as number | null | undefined) ?? null) : null;
    if (current === rps) return NONE;
    if (!plugin)
      return {
        kind: 'create',
        config: { second: rps, limit_by: scope.consumer ? 'consumer' : 'service', policy: 'local' },
      };
    return { kind: 'patch', config: { second: rps } };
  },
};

/** The undo of a limit on a rate-limiting plugin the engine made: deleted, unless someone made it theirs since. */
function takeBackLimit(plugin: KongPlugin, scope: KongScope): PluginAction {
  const own = { limit_by: scope.consumer ? 'consumer' : 'service', policy: 'local' };
  const changes = othersWork(plugin, own, PERIODS.slice(1));
  if (changes.length === 0) return { kind: 'delete' };
  // Someone limits with it too: only the engine's own limit goes, and the plugin is theirs from now on.
  if (PERIODS.slice(1).some((period) => typeof plugin.config[period] === 'number'))
    return { kind: 'patch', config: { second: null }, tags: adopted(plugin) };
  throw refused(
    `${kept(plugin, scope, changes)}; the engine does not delete their work, and clearing its own config.second would leave the plugin no limit, which Kong refuses: give the plugin a limit of its own (e.g. config.minute), and the engine clears only config.second, or delete it`,
  );
}

/**
 * An open circuit as an enabled request-termination plugin answering 503 (kong/plugins/request-termination/schema.lua).
 * Kong terminates every request while it is there: it has no undecided state, so the fail mode reads as closed.
 */
export const circuit: KongKnob = {
  plugin: 'request-termination',
  absent: { state: 'closed', failMode: 'closed' },
  read: (plugin) => ({ state: plugin.enabled ? 'open' : 'closed', failMode: 'closed' }),
  plan(plugin, value) {
    const open = (value as { state: string } | null)?.state === 'open';
    if (!plugin) return open ? { kind: 'create', config: { status_code: 503, message: CIRCUIT_MESSAGE } } : NONE;
    // Closing the engine's own breaker, even one someone switched off since: it goes, unless someone made it theirs.
    if (!open && createdByEngine(plugin.tags)) {
      const changes = othersWork(plugin, { status_code: 503, message: CIRCUIT_MESSAGE }, [
        'body',
        'content_type',
        'trigger',
        'echo',
      ]);
      if (changes.length === 0) return { kind: 'delete' };
      // Someone made the breaker theirs (their message, their trigger): the engine closes its circuit and leaves it.
      return { kind: 'patch', ...(plugin.enabled && { enabled: false }), tags: adopted(plugin) };
    }
    if (plugin.enabled === open) return NONE;
    // Someone's switched-off terminator is a breaker only if it refuses every request with a 5xx: one with a trigger
    // answers only the requests carrying it, and a 2xx or an echo answers for the upstream; switching it on would
    // report an open circuit while traffic flows, or answer clients something else.
    const status = (plugin.config.status_code as number | null | undefined) ?? 503;
    if (open && (plugin.config.trigger || plugin.config.echo || status < 500))
      throw notSetUp(
        `the request-termination plugin ${plugin.id} there is not a plain breaker (status ${status}${plugin.config.trigger ? `, trigger ${JSON.stringify(plugin.config.trigger)}` : ''}${plugin.config.echo ? ', echo' : ''}): the engine opens a circuit only with a terminator answering every request with a 5xx; change or delete it`,
      );
    return { kind: 'patch', enabled: open };
  },
};

/** A plugin that must exist already, switched on and off by its `enabled` flag. */
function toggled(plugin: string, on: (value: unknown) => boolean, read: (enabled: boolean) => unknown): KongKnob {
  return {
    plugin,
    absent: read(false),
    read: (found) => read(found.enabled),
    plan(found, value, scope) {
      const wanted = on(value);
      if (!found) {
        if (!wanted) return NONE;
        throw notSetUp(
          `${describeScope(scope)} has no ${plugin} plugin; it needs configuration the engine cannot make up (its service URLs and credentials): add one there (disabled, if it should start off), and the engine switches it on and off`,
        );
      }
      return found.enabled === wanted ? NONE : { kind: 'patch', enabled: wanted };
    },
  };
}

/** Kong has one semantic cache setting per scope: standard and aggressive both switch ai-semantic-cache on. */
export const cacheMode = toggled(
  'ai-semantic-cache',
  (value) => value !== 'off' && value !== null,
  (enabled) => (enabled ? 'standard' : 'off'),
);

export const promptCompression = toggled(
  'ai-prompt-compressor',
  (value) => value === true,
  (enabled) => enabled,
);

/** The knobs a route's policy has on Kong, by field. */
export const POLICY_KNOBS: Record<string, KongKnob> = {
  rateLimitRps: requestRate,
  circuit,
  cacheMode,
  promptCompression,
};
