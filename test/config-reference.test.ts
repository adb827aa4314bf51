import * as fs from 'fs';
import * as path from 'path';
import { configReference, END, START } from '../scripts/config-reference';

describe('README config reference', () => {
  it('is the one generated from the schema (run `npm run docs:config` after changing lib/config/)', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf(START) + START.length, readme.indexOf(END)).trim();
    expect(section).toBe(configReference());
  });
});
