import type { EurekaServerConfig } from './types';

/** One server URL with optional user:pass; returns the problem as text when it does not parse. */
export function parseServerUrl(text: string, credentials: string | undefined): EurekaServerConfig | string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return `a server URL that does not parse: ${JSON.stringify(redactUrlText(text))}`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `a server URL that is not http(s): ${JSON.stringify(redactUrlText(text))}`;
  let username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  let password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  if (credentials !== undefined && username === undefined) {
    const at = credentials.indexOf(':');
    username = credentials.slice(0, at);
    password = credentials.slice(at + 1);
  }
  parsed.username = '';
  parsed.password = '';
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  const url = parsed.toString();
  return {
    url,
    label: url,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

/** Strips user:pass@ from anything that looks like a URL, for error messages. */
export function redactUrlText(text: string): string {
  return text.replace(/\/\/[^/@\s]*@/g, '//***@');
}
