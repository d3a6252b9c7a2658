// The GatewayAdapter the configuration names (gateway.kind): the Control API client, the LiteLLM or the Kong adapter.
import type { Config } from '../config/config-schema';
import type { GatewayAdapter } from './adapter';
import { ControlApiClient } from './control-api-client';
import { KongGateway } from './kong/kong-gateway';
import { LiteLlmGateway } from './litellm/litellm-gateway';
import type { WireRetries } from './wire-retries';

/**
 * `gateway.token` is the Control API's bearer token, LiteLLM's master key, or Kong's Admin API token (Kong-Admin-Token):
 * the worker refuses to start without it.
 */
export function gatewayFrom(gateway: Config['gateway'] & { token: string }, retries: WireRetries): GatewayAdapter {
  const common = { baseUrl: gateway.url, timeoutMs: gateway.timeout, ...retries };
  switch (gateway.kind) {
    case 'control-api':
      return new ControlApiClient({ ...common, token: gateway.token });
    case 'litellm':
      return new LiteLlmGateway({ ...common, masterKey: gateway.token, tiers: gateway.litellm.tiers });
    case 'kong':
      return new KongGateway({ ...common, adminToken: gateway.token });
  }
}
