import * as fs from 'fs';
import * as path from 'path';
import Handlebars from 'handlebars';
import { jsLiteral, psqlName, rubyString, shellWord, sqlIdentifier, sqlLiteral } from './sinks';

/**
 * Every rendered file (nginx.conf, gitlab.rb fragments, SQL, ops scripts) comes from `templates/` through
 * this one helper. A private Handlebars instance with `strict` on: a template that names a field the
 * view does not have fails at render time instead of writing an empty string into a config file.
 */
export const TEMPLATES_DIR = path.join(__dirname, '..', 'templates');

const hbs = Handlebars.create();
// Each quoting helper is the sink function of lib/sinks.ts for that kind of file, and nothing else.
/** JavaScript literal (mongosh code). */
hbs.registerHelper('json', (value: unknown) => new hbs.SafeString(jsLiteral(value)));
hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
/** Single-quoted shell word: safe for any value a topology holds. */
hbs.registerHelper('sh', (value: unknown) => new hbs.SafeString(shellWord(String(value))));
/** Single-quoted Ruby string literal for gitlab.rb. */
hbs.registerHelper('rb', (value: unknown) => new hbs.SafeString(rubyString(String(value))));
/** SQL identifier, double-quoted. */
hbs.registerHelper('ident', (value: unknown) => new hbs.SafeString(sqlIdentifier(String(value))));
/** SQL string literal, single-quoted. */
hbs.registerHelper('lit', (value: unknown) => new hbs.SafeString(sqlLiteral(String(value))));
/** A psql variable or environment variable name (meta-command argument), validated. */
hbs.registerHelper('psqlname', (value: unknown) => new hbs.SafeString(psqlName(String(value))));

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
