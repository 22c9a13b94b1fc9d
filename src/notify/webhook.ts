import type { Notification, Target } from './payload.js';
import { post, type PostDeps } from './http-post.js';
import { receiver } from './url.js';

/** `POST` of the notification as JSON (README.md, "Notifications"). */
export function webhookTarget(url: string, deps: PostDeps): Target {
  const to = receiver(url);
  return {
    label: `webhook ${to.origin}`,
    send: (n: Notification) => post(to, JSON.stringify(n), { 'content-type': 'application/json' }, deps),
  };
}
