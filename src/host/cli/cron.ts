// `warren cron next "<expr>" [--tz ZONE] [--from ISO] [--count N]`: the next run times of an
// expression, one ISO-8601 UTC timestamp per line, so an operator can check it before trusting it.
import { compileSchedule, upcomingRuns } from '../scheduling/index.ts';

export interface CronNextInput {
  expression: string | undefined;
  tz: string | undefined;
  from: string | undefined;
  count: string | undefined;
  now: Date;
  write: (text: string) => void;
  fail: (text: string) => void;
}

export const CRON_HELP = `warren cron next "<expr>" [--tz ZONE] [--from ISO] [--count N]
the next run times of a cron expression, one ISO-8601 UTC time per line (default: 5 from now, in
this machine's time zone); N is 1 to 1000.
`;

/** Exit code 2 for anything the operator typed wrong, with what to fix. */
export function cronNext(input: CronNextInput): number {
  if (!input.expression) {
    input.fail('warren cron next: give the expression in quotes, e.g. warren cron next "0 9 * * 1-5"\n');
    return 2;
  }
  const zone = input.tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const from = input.from === undefined ? input.now.getTime() : Date.parse(input.from);
  if (Number.isNaN(from)) {
    input.fail(
      `warren cron next: --from "${input.from}" is not an ISO-8601 time (e.g. 2026-03-08T00:00:00Z)\n`,
    );
    return 2;
  }
  const count = input.count === undefined ? 5 : Number(input.count);
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    input.fail(`warren cron next: --count must be a whole number from 1 to 1000, got "${input.count}"\n`);
    return 2;
  }
  const schedule = compileSchedule(input.expression, zone);
  if (!schedule.ok) {
    input.fail(`warren cron next: ${schedule.error}\n`);
    return 2;
  }
  const runs = upcomingRuns(schedule.value, new Date(from).toISOString(), count);
  input.write(runs.map((at) => `${at}\n`).join(''));
  return 0;
}
