import { parseConfig, type Config, type Env } from '../../src/config';

/** A valid configuration from env-style overrides, as main.ts would build it. */
export function testConfig(env: Env = {}): Config {
  return parseConfig({
    DRAINER_APP_NAME: 'demo',
    POD_IP: '10.0.0.1',
    SERVER_PORT: '8080',
    DRAINER_EUREKA_URLS: 'http://eureka-0.test/eureka/,http://eureka-1.test/eureka/',
    ...env,
  });
}
