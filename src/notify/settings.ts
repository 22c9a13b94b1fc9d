import { parseCommandSetting } from '../hooks/command.js';

/** Where notifications go (config key `notify`, README.md "Notifications"). Empty lists and no command: none. */
export interface NotifySettings {
  /** Each gets a JSON POST per event. */
  webhooks: string[];
  /** An ntfy topic URL (`https://ntfy.sh/TOPIC`): a titled, prioritised message. */
  ntfy: string | undefined;
  /** Run once per event with the event in its environment (words, not a shell line: src/hooks/command.ts). */
  command: string[] | undefined;
}

export const NO_NOTIFY: NotifySettings = { webhooks: [], ntfy: undefined, command: undefined };

const KEYS = ['webhooks', 'ntfy', 'command'] as const;

/** An http(s) URL with a host, or why not. */
export function checkHttpUrl(text: unknown): string | undefined {
  if (typeof text !== 'string' || text.trim() === '') return 'must be an http(s) URL';
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return 'is not a URL (it must start with https:// or http://)';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must be an http(s) URL, not ${url.protocol}`;
  if (!url.hostname) return 'has no host';
  return undefined;
}

/** `BOOKD_NOTIFY_WEBHOOK`: comma-separated URLs. */
export function parseWebhookList(text: string): { webhooks: string[] } | { error: string } {
  const webhooks = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const [i, url] of webhooks.entries()) {
    // The URL itself is not repeated: a webhook URL often carries its own secret.
    const why = checkHttpUrl(url);
    if (why) return { error: `URL number ${i + 1} ${why}` };
  }
  return { webhooks };
}

/**
 * The `notify` object of a config file, checked once (src/config.ts turns an error into a
 * ConfigError naming the key). Messages never repeat a URL: it may be a secret.
 */
export function parseNotifySettings(raw: unknown): { settings: NotifySettings } | { error: string } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { error: 'must be an object with webhooks, ntfy and/or command' };
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(KEYS as readonly string[]).includes(key)) return { error: `unknown key "${key}" (known keys: ${KEYS.join(', ')})` };
  }
  const settings: NotifySettings = { ...NO_NOTIFY, webhooks: [] };
  if (obj.webhooks !== undefined) {
    const list = typeof obj.webhooks === 'string' ? [obj.webhooks] : obj.webhooks;
    if (!Array.isArray(list)) return { error: 'webhooks must be a list of http(s) URLs' };
    for (const [i, url] of list.entries()) {
      const why = checkHttpUrl(url);
      if (why) return { error: `webhooks[${i}] ${why}` };
      settings.webhooks.push((url as string).trim());
    }
  }
  if (obj.ntfy !== undefined) {
    const why = checkHttpUrl(obj.ntfy);
    if (why) return { error: `ntfy ${why} such as https://ntfy.sh/TOPIC` };
    const url = new URL((obj.ntfy as string).trim());
    if (url.pathname.replace(/\/+$/, '') === '') return { error: 'ntfy must name a topic, such as https://ntfy.sh/TOPIC' };
    settings.ntfy = url.href;
  }
  if (obj.command !== undefined) {
    const parsed = parseCommandSetting(obj.command);
    if ('error' in parsed) return { error: `command ${parsed.error}` };
    settings.command = parsed.argv;
  }
  return { settings };
}

export function notifyEnabled(s: NotifySettings): boolean {
  return s.webhooks.length > 0 || s.ntfy !== undefined || s.command !== undefined;
}
