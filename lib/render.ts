import * as fs from 'fs';
import * as path from 'path';
import Handlebars from 'handlebars';

/**
 * Every rendered file (nginx.conf, gitlab.rb fragments, SQL, ops scripts) comes from `templates/` through
 * this one helper. A private Handlebars instance with `strict` on: a template that names a field the
 * view does not have fails at render time instead of writing an empty string into a config file.
 */
export const TEMPLATES_DIR = path.join(__dirname, '..', 'templates');

const hbs = Handlebars.create();
hbs.registerHelper('json', (value: unknown) => new hbs.SafeString(JSON.stringify(value)));
hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
/** Single-quoted shell word: safe for any value a topology holds. */
hbs.registerHelper('sh', (value: unknown) => new hbs.SafeString(`'${String(value).replace(/'/g, `'\\''`)}'`));
/** Single-quoted Ruby string literal for gitlab.rb. */
hbs.registerHelper(
  'rb',
  (value: unknown) => new hbs.SafeString(`'${String(value).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`),
);
/** SQL identifier, double-quoted. */
hbs.registerHelper('ident', (value: unknown) => new hbs.SafeString(`"${String(value).replace(/"/g, '""')}"`));
/** SQL string literal, single-quoted. */
hbs.registerHelper('lit', (value: unknown) => new hbs.SafeString(`'${String(value).replace(/'/g, "''")}'`));

const cache = new Map<string, Handlebars.TemplateDelegate>();

/** Renders `templates/<name>` with `view`. Output is byte-stable for equal views. */
export function renderTemplate(name: string, view: object): string {
  let tpl = cache.get(name);
  if (!tpl) {
    const source = fs.readFileSync(path.join(TEMPLATES_DIR, name), 'utf8');
    tpl = hbs.compile(source, { strict: true, noEscape: true });
    cache.set(name, tpl);
  }
  return tpl(view);
}
