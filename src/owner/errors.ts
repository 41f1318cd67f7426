import { DrainerError } from '../errors';

/**
 * Every server refused the registration with a 4xx: the instance document is
 * wrong (a missing field, an app name that does not match), and sending it
 * again cannot help. The message names the server, the HTTP status and the
 * server's own text, which names the field ("Missing instanceId").
 */
export class RegistrationRejectedError extends DrainerError {
  override name = 'RegistrationRejectedError';
  override readonly code = 'DRAINER_REGISTRATION_REJECTED';
  constructor(
    readonly server: string,
    readonly status: number | undefined,
    /** APP/instance-id */
    readonly instance: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`eureka server ${server} rejected the registration of ${instance} with HTTP ${status ?? '?'}: ${detail}`, options);
  }
}
