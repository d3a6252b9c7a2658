// The failure type of a gateway change refused because the gateway object is not set up for it (GatewayError.notSetUp):
// pure, so the workflow can tell it apart and skip a step marked `unsupported: skip` instead of failing the run.
export const GATEWAY_NOT_SET_UP = 'GatewayNotSetUp';
