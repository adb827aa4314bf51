import { CronExpressionParser } from 'cron-parser';

/**
 * Cron schedules in the dialect both Debian's cron (vixie cron 3.0pl1) and cronie read: five fields,
 * each a list of `*`, `*` + `/step`, `N`, `N-M` or `N-M/step`, with month and day names in their
 * fields. cron-parser (a maintained parser) then checks the meaning: values in range, ranges that
 * go up, steps of at least 1, and a day of month that exists in one of the months. Extensions that
 * cron-parser reads but Debian's cron refuses (`L`, `W`, `#`, `?`, `H`, a sixth field, `@daily`,
 * `N/step`) are refused by the dialect check first.
 */

const NAMES: Record<number, string> = {
  3: 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec',
  4: 'sun|mon|tue|wed|thu|fri|sat',
};
/** February has a 29th in leap years: a schedule on it fires, rarely. */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'];

function fieldGrammar(index: number): RegExp {
  const value = NAMES[index] ? `(\\d+|${NAMES[index]})` : '\\d+';
  const element = `(\\*(/\\d+)?|${value}(-${value}(/\\d+)?)?)`;
  return new RegExp(`^${element}(,${element})*$`, 'i');
}

/** Why `expr` is not a schedule Debian's cron and cronie both run; undefined when it is one. */
export function cronProblem(expr: string): string | undefined {
  if (typeof expr !== 'string') return 'a five-field cron expression such as "0 */4 * * *"';
  const fields = expr.split(' ');
  if (fields.length !== 5 || fields.some((f) => f === '')) {
    return 'five fields separated by single spaces (minute hour day-of-month month day-of-week), such as "0 */4 * * *"';
  }
  const bad = fields.findIndex((f, i) => !fieldGrammar(i).test(f));
  if (bad >= 0) {
    return `the ${FIELD_NAMES[bad]} field "${fields[bad]}" is not in the syntax of Debian's cron (lists of *, */step, N, N-M, N-M/step)`;
  }
  try {
    const parsed = CronExpressionParser.parse(expr, { tz: 'UTC', currentDate: new Date(Date.UTC(2000, 0, 1)) });
    parsed.next();
    // cron reads a day-of-week field that starts with `*` (`*/1` too) as "any day" and then requires
    // the day of month (entry.c sets DOW_STAR on the first character): it must exist in some month.
    if (fields[4].startsWith('*') && !fields[2].startsWith('*')) {
      const days = parsed.fields.dayOfMonth.values as number[];
      const months = parsed.fields.month.values as number[];
      if (!months.some((m) => days.some((d) => d <= DAYS_IN_MONTH[m - 1]))) throw new Error('day of month');
    }
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return /day of month/i.test(why)
      ? 'a schedule that fires: no month given has that day of month (cron would never run it)'
      : `a valid cron expression (${why})`;
  }
  return undefined;
}

export function isCron(expr: string): boolean {
  return cronProblem(expr) === undefined;
}
