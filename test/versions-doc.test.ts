import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_IMAGES } from '../lib/config';
import { MONGOD_NOFILE } from '../lib/mongo';
import { GITLAB_SHM_MB, pumaWorkersFor, GITLAB_MEMORY_MB } from '../lib/topology';
import {
  DB_POOL_HEADROOM,
  DEFAULT_PLANNED_INSTANCES,
  GITLAB_MIN_CONNECTIONS,
  SUPERUSER_RESERVED,
} from '../lib/topology/data';
import { gitlabStopsUpTo, LISTED_GITLAB_STOPS, MONGO_SERIES } from '../lib/upgrades';
import { configReference } from '../scripts/config-reference';
import { ROOT } from './helpers/program';

/**
 * docs/versions.md, the schema defaults and the README agree: every default image is on the page with its
 * line, reason, source and date, and nothing else is; the README's config reference names the same tags;
 * the settings on the page are the values the code uses.
 */
const page = fs.readFileSync(path.join(ROOT, 'docs/versions.md'), 'utf8');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The rows of the table under the `## <heading>` section, split into trimmed cells. */
function table(heading: string): string[][] {
  const start = page.indexOf(`## ${heading}\n`);
  if (start < 0) throw new Error(`docs/versions.md has no section "${heading}"`);
  const next = page.indexOf('\n## ', start + 1);
  const section = page.slice(start, next < 0 ? undefined : next);
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    .slice(1)
    .map((l) =>
      l
        .slice(2, -2)
        .split(' | ')
        .map((c) => c.trim()),
    );
}

describe('docs/versions.md', () => {
  const images = table('Default images');

  it('lists exactly the default images, each with its line, reason, source and date', () => {
    expect(images.map((r) => [r[0], r[1]])).toEqual(
      Object.entries(DEFAULT_IMAGES).map(([key, ref]) => [`\`${key}\``, `\`${ref}\``]),
    );
    for (const row of images) {
      expect(row).toHaveLength(6);
      for (const cell of row.slice(2, 5)) expect(cell.length).toBeGreaterThan(10);
      expect(row[5]).toMatch(/^20\d\d-\d\d-\d\d$/);
    }
  });

  it("agrees with the README's generated config reference", () => {
    expect(readme).toContain(configReference());
    for (const [key, ref] of Object.entries(DEFAULT_IMAGES)) {
      expect(readme).toContain(`| \`kytes:images.${key}\` | string | Image reference, pinned. Default \`${ref}\`. |`);
    }
  });

  it('dates every version rule, upgrade rule and setting, and names a source for each', () => {
    for (const heading of ['Version rules', 'Upgrade stops and upgrade rules', 'Settings Kytes relies on']) {
      const rows = table(heading);
      expect(rows.length).toBeGreaterThan(3);
      for (const row of rows) {
        expect(row[row.length - 1]).toMatch(/^20\d\d-\d\d-\d\d$/);
        expect(row[row.length - 2].length).toBeGreaterThan(10);
      }
    }
  });

  it('states the values the code uses', () => {
    const settings = new Map(table('Settings Kytes relies on').map((r) => [r[0], r[1]]));
    expect(settings.get('`max_connections`')).toBe(
      `max(${GITLAB_MIN_CONNECTIONS}, budget of the planned instances (default ${DEFAULT_PLANNED_INSTANCES}) + ${SUPERUSER_RESERVED}, rounded up to 100)`,
    );
    expect(page).toContain(`(concurrency + 1 + ${DB_POOL_HEADROOM})`);
    expect(settings.get("`puma['worker_processes']`")).toBe(
      `0 (constrained), ${pumaWorkersFor(GITLAB_MEMORY_MB.standard)} (standard)`,
    );
    expect(settings.get('`shm_size` (GitLab)')).toBe(
      `${GITLAB_SHM_MB.constrained} MB (constrained), ${GITLAB_SHM_MB.standard} MB (standard)`,
    );
    expect(settings.get('`nofile` (MongoDB)')).toBe(String(MONGOD_NOFILE));
    expect(settings.get('`proxy_read_timeout` (GitLab)')).toBe('3600s');
    expect(settings.get('`HEAP_USAGE_PERCENT` (Rocket.Chat)')).toBe('1');
    expect(settings.get('`EVENT_LOOP_LAG_MS` (Rocket.Chat)')).toBe('10000');
    const stops = new Map(table('Upgrade stops and upgrade rules').map((r) => [r[0], r[1]]));
    expect(stops.get('GitLab required stops up to 17.3')).toBe(
      `${LISTED_GITLAB_STOPS.join(', ')} (the unconditional ones)`,
    );
    expect(gitlabStopsUpTo({ major: 19, minor: 3 }).slice(-5)).toEqual(['18.2', '18.5', '18.8', '18.11', '19.2']);
    expect(stops.get('MongoDB series change')).toContain(MONGO_SERIES.join(' → '));
  });
});
