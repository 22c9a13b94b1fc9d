import { childEnvironment, expandWords, runCommand } from '../hooks/command.js';
import type { Notification, Target } from './payload.js';

/** The event as the command's environment (README.md, "Notifications"); unset fields are empty. */
export function notificationEnv(n: Notification): Record<string, string> {
  return {
    BOOKD_EVENT: n.event,
    BOOKD_MESSAGE: n.message,
    BOOKD_SESSION: n.session ?? '',
    BOOKD_BOOK_ID: n.book?.id ?? '',
    BOOKD_BOOK_TITLE: n.book?.title ?? '',
    BOOKD_JOB: n.job !== undefined ? String(n.job) : '',
    BOOKD_AT: n.at,
    BOOKD_HOST: n.host,
  };
}

/** Runs the operator's command once per notification; a non-zero exit or a timeout is tried again. */
export function commandTarget(argv: readonly string[], deps: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Target {
  return {
    label: `command ${argv[0]}`,
    send: async (n) => {
      const vars = notificationEnv(n);
      const outcome = await runCommand(expandWords(argv, vars), { env: childEnvironment(deps.env ?? process.env, vars), timeoutMs: deps.timeoutMs });
      return outcome.ok ? { ok: true } : { ok: false, retry: true, why: outcome.why };
    },
  };
}
