// What a gateway client's or adapter's failed call threw, checked to be a GatewayError (its status and retryability
// are what the engine acts on): the gateway tests' one way to look at a failure.
import { GatewayError } from '../../gateway/adapter';

export async function gatewayFailure(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}
