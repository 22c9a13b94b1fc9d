import { Agent } from 'undici';
import type { Clock } from '../clock.js';
import type { Tuning } from '../config.js';
import type { EventBus, EventKind } from '../daemon/events.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { commandTarget } from './command.js';
import { createDedupe } from './dedupe.js';
import { ntfyTarget } from './ntfy.js';
import { notificationOf, type Target } from './payload.js';
import { createDeliveryQueue } from './queue.js';
import { notifyEnabled, type NotifySettings } from './settings.js';
import { webhookTarget } from './webhook.js';

/**
 * The events a person is needed for. book.archived and job.changed are for the web page and the
 * onArchived hook: a notification per book would be noise.
 */
export const NOTIFIED: ReadonlySet<EventKind> = new Set<EventKind>([
  'session.expired',
  'session.failed',
  'session.expiring',
  'book.failed',
  'queue.drained',
  'edge.blocked',
  'storage.full',
  'daemon.stopped',
]);

export interface NotifierDeps {
  bus: EventBus;
  settings: NotifySettings;
  tuning: Tuning['notify'];
  clock: Clock;
  logger: Logger;
  host: string;
  /** Tests: where the webhook and ntfy requests go through; the notifier makes its own agent otherwise. */
  random?: () => number;
  /** The command's base environment (default: the daemon's own, less its BOOKD_* settings). */
  env?: NodeJS.ProcessEnv;
}

export interface Notifications {
  /** Deliveries not finished. */
  pending(): number;
  /** Gives what is queued `flushMs` (a run's queue.drained, a daemon.stopped), then drops the rest and closes. */
  close(): Promise<void>;
}

/**
 * Listens on the bus and sends each notified event, once per cool-down, to every target. The
 * listener only queues: delivery runs in the background and never holds up a job.
 */
export function startNotifier(d: NotifierDeps): Notifications | undefined {
  if (!notifyEnabled(d.settings)) return undefined;
  const t = d.tuning;
  const agent = new Agent({ connect: { timeout: t.requestTimeoutMs }, keepAliveTimeout: 4_000 });
  const http = { timeoutMs: t.requestTimeoutMs, dispatcher: agent, userAgent: `bookd/${VERSION}` };
  const targets: Target[] = [
    ...d.settings.webhooks.map((url) => webhookTarget(url, http)),
    ...(d.settings.ntfy ? [ntfyTarget(d.settings.ntfy, http)] : []),
    ...(d.settings.command ? [commandTarget(d.settings.command, { timeoutMs: t.commandTimeoutMs, env: d.env })] : []),
  ];
  const dedupe = createDedupe({ clock: d.clock, cooldownMs: t.cooldownMs, maxSubjects: t.maxSubjects });
  const queue = createDeliveryQueue({
    clock: d.clock,
    attempts: t.attempts,
    retryBaseMs: t.retryBaseMs,
    retryCapMs: t.retryCapMs,
    maxQueued: t.maxQueued,
    concurrency: t.concurrency,
    random: d.random,
    onGiveUp: (label, why, tries) => d.logger.warn(`notification ${label} not delivered after ${tries} ${tries === 1 ? 'try' : 'tries'}: ${why}`),
    onDrop: (label, why) =>
      d.logger.warn(
        why === 'full'
          ? `notification ${label} dropped: ${t.maxQueued} are already waiting (is the receiver down?)`
          : `notification ${label} dropped: bookd is stopping`,
      ),
  });
  const off = d.bus.on((e) => {
    if (!NOTIFIED.has(e.event)) return;
    if (!dedupe.admit(e)) return;
    const n = notificationOf(e, d.host);
    for (const target of targets) queue.push({ label: `${e.event} to ${target.label}`, attempt: () => target.send(n) });
  });
  d.logger.info({ targets: targets.map((x) => x.label) }, 'notifications on');
  return {
    pending: () => queue.size(),
    async close() {
      off();
      await queue.flush(t.flushMs);
      queue.close();
      await agent.destroy();
    },
  };
}
