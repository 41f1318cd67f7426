import type { EurekaClient } from '../eureka/client';

/**
 * What owner mode needs of a Eureka client: register a complete instance,
 * renew it, cancel it. Tests substitute an in-memory fake.
 */
export type OwnerEurekaApi = Pick<EurekaClient, 'registerDocument' | 'heartbeat' | 'cancel'>;
