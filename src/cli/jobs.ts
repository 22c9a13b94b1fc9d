import { Option, type Command } from '@commander-js/extra-typings';
import { systemClock } from '../clock.js';
import { UsageError } from '../errors.js';
import { JOB_KINDS, JOB_STATES, type Job } from '../db/jobs.js';
import { withStore } from './support/context.js';
import { printJson, table } from './support/format.js';
import { parseJobId, parsePositiveInteger } from './support/args.js';
import { attemptJson, jobJson } from '../views/jobs.js';
import { duration, jobSkills, jobSubject, progressText, relative, timestamp } from '../views/format.js';

function notFound(id: number): Error {
  return new Error(`there is no job #${id}; bookd jobs list shows the ids`);
}

function when(j: Job, now: number): string {
  switch (j.state) {
    case 'queued':
      return j.runAt > now ? `due ${relative(j.runAt, now)}` : 'ready';
    case 'running':
      return j.startedAt === undefined ? 'running' : `for ${duration(now - j.startedAt)}`;
    default:
      return j.finishedAt === undefined ? '' : relative(j.finishedAt, now);
  }
}

function registerList(jobs: Command): void {
  jobs
    .command('list')
    .description('list jobs, oldest first')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(JOB_STATES))
    .addOption(new Option('--kind <kind>', 'only book or discover jobs').choices(JOB_KINDS))
    .option('--skill <skill>', 'only jobs for this skill (case-insensitive)')
    .option('--limit <n>', 'at most N jobs', parsePositiveInteger)
    .option('--json', 'print a JSON array (times in ISO 8601, UTC)')
    .action(async (opts, cmd) => {
      await withStore(cmd, async (store) => {
        const list = await store.views.list({
          ...(opts.state && { state: opts.state }),
          ...(opts.kind && { kind: opts.kind }),
          ...(opts.skill && { skill: opts.skill }),
          ...(opts.limit && { limit: opts.limit }),
        });
        if (opts.json) return printJson(list.map(jobJson));
        if (list.length === 0) {
          process.stdout.write('no jobs match\n');
          return;
        }
        const now = systemClock.now();
        const rows = [
          ['ID', 'STATE', 'JOB', 'SKILLS', 'PRI', 'TRIES', 'WHEN', 'LAST ERROR'],
          ...list.map((j) => [
            `#${j.id}`,
            j.state + (j.cancelRequested ? '*' : ''),
            jobSubject(j),
            jobSkills(j).join(', ') || '-',
            String(j.priority),
            `${j.attempt}/${j.maxAttempts}`,
            when(j, now),
            j.lastError ? `${j.lastError.kind}: ${j.lastError.message}`.slice(0, 80) : '',
          ]),
        ];
        process.stdout.write(`${table(rows)}\n`);
      });
    });
}

function registerShow(jobs: Command): void {
  jobs
    .command('show')
    .description('show one job with its attempt history')
    .argument('<id>', 'the job id (from bookd jobs list)', parseJobId)
    .option('--json', 'print a JSON document (times in ISO 8601, UTC)')
    .action(async (id, opts, cmd) => {
      await withStore(cmd, async (store) => {
        const job = await store.jobs.get(id);
        if (!job) throw notFound(id);
        const attempts = await store.jobs.attempts(id);
        if (opts.json) return printJson({ ...jobJson(job), attempts: attempts.map(attemptJson) });
        const now = systemClock.now();
        const at = (t: number | undefined) => (t === undefined ? '-' : `${timestamp(t)} (${relative(t, now)})`);
        const rows: string[][] = [
          ['job', `#${job.id} ${jobSubject(job)}`],
          ['state', job.state + (job.cancelRequested ? ' (cancel requested)' : '')],
          ['skills', jobSkills(job).join(', ') || '-'],
          ['priority', String(job.priority)],
          ['attempts', `${job.attempt} of ${job.maxAttempts}`],
          ['created', at(job.createdAt)],
          ['run at', at(job.runAt)],
        ];
        if (job.kind === 'book' && job.payload.title) rows.splice(1, 0, ['title', job.payload.title]);
        if (job.state === 'running') {
          rows.push(
            ['worker', job.leaseOwner ?? '-'],
            ['session', job.session ?? '-'],
            ['progress', progressText(job.progress)],
            ['lease until', at(job.leaseExpiresAt)],
          );
        }
        if (job.finishedAt !== undefined) rows.push(['finished', at(job.finishedAt)]);
        if (job.lastError) rows.push(['last error', `${job.lastError.kind}: ${job.lastError.message}`]);
        const out = [table(rows), '', 'attempts'];
        if (attempts.length === 0) out.push('  none yet');
        else
          out.push(
            table(
              [
                ['#', 'OUTCOME', 'ENDED', 'TOOK', 'SESSION', 'MESSAGE'],
                ...attempts.map((a) => [
                  String(a.attempt),
                  a.outcome,
                  timestamp(a.finishedAt),
                  a.durationMs === undefined ? '-' : duration(a.durationMs),
                  a.session ?? '-',
                  [a.errorKind, a.message].filter(Boolean).join(': '),
                ]),
              ],
              '  ',
            ),
          );
        process.stdout.write(`${out.join('\n')}\n`);
      });
    });
}

function registerRetry(jobs: Command): void {
  jobs
    .command('retry')
    .description('queue a failed or cancelled job again with its attempts reset; --failed does so for every failed job')
    .argument('[id]', 'the job id', parseJobId)
    .option('--failed', 'retry every failed job')
    .option('--json', 'print {requeued, job} (job: the requeued job, as jobs show --json prints it; absent with --failed)')
    .action(async (id, opts, cmd) => {
      if (id === undefined && !opts.failed) throw new UsageError('jobs retry needs a job id or --failed');
      if (id !== undefined && opts.failed) throw new UsageError('jobs retry takes a job id or --failed, not both');
      await withStore(cmd, async (store) => {
        if (id === undefined) {
          const n = await store.jobs.retryAllFailed();
          if (opts.json) printJson({ requeued: n });
          else process.stdout.write(n ? `requeued ${n} failed job${n === 1 ? '' : 's'}\n` : 'no failed jobs\n');
          return;
        }
        const result = await store.jobs.retryOne(id);
        if (!result) throw notFound(id);
        if (result.after !== 'queued') throw new Error(`job #${id} is ${result.before}; only failed or cancelled jobs can be retried`);
        if (opts.json) printJson({ requeued: 1, was: result.before, job: jobJson((await store.jobs.get(id))!) });
        else process.stdout.write(`requeued #${id} ${jobSubject((await store.jobs.get(id))!)} (it was ${result.before})\n`);
      });
    });
}

function registerCancel(jobs: Command): void {
  jobs
    .command('cancel')
    .description('cancel a job: a queued job at once; a running job is asked to stop and its worker confirms')
    .argument('<id>', 'the job id', parseJobId)
    .option('--json', 'print {cancelled, cancel_requested, was, job}: cancelled at once (a queued job) or asked to stop (a running one)')
    .action(async (id, opts, cmd) => {
      await withStore(cmd, async (store) => {
        const result = await store.jobs.cancel(id);
        if (!result) throw notFound(id);
        const job = (await store.jobs.get(id))!;
        if (opts.json && (result.before === 'queued' || result.cancelRequested)) {
          printJson({ cancelled: result.before === 'queued', cancel_requested: result.before !== 'queued', was: result.before, job: jobJson(job) });
          return;
        }
        if (result.before === 'queued') process.stdout.write(`cancelled #${id} ${jobSubject(job)}\n`);
        else if (result.cancelRequested)
          process.stdout.write(`asked the worker running #${id} ${jobSubject(job)} to stop; it will show as cancelled once it does\n`);
        else throw new Error(`job #${id} already ${result.before}; nothing to cancel`);
      });
    });
}

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('inspect and steer individual jobs');
  registerList(jobs);
  registerShow(jobs);
  registerRetry(jobs);
  registerCancel(jobs);
}
