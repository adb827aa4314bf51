import * as fs from 'fs';
import * as path from 'path';

/**
 * The shape of a bash text as tree-sitter-bash parses it: every node type, in order, without the
 * text of any word. Two renderings of one script whose only difference is a value have the same
 * shape exactly when the value stayed inside its word: a value that closed a quote, started a
 * command substitution, a pipe or a new command would add nodes.
 */
// web-tree-sitter ships CommonJS and ESM builds; the CommonJS one is what jest loads.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const TreeSitter = require('web-tree-sitter') as typeof import('web-tree-sitter');

let parser: import('web-tree-sitter').Parser | undefined;

export async function shellParser(): Promise<import('web-tree-sitter').Parser> {
  if (parser) return parser;
  await TreeSitter.Parser.init();
  const wasm = path.join(path.dirname(require.resolve('tree-sitter-bash/package.json')), 'tree-sitter-bash.wasm');
  // Bytes, not a path: loading from a path uses a dynamic import jest's CommonJS runtime refuses.
  const bash = await TreeSitter.Language.load(new Uint8Array(fs.readFileSync(wasm)));
  parser = new TreeSitter.Parser();
  parser.setLanguage(bash);
  return parser;
}

/** Node types of the parse tree, words merged: `'a'\''b'` (one word in three parts) counts as one word. */
export async function shellShape(text: string): Promise<string> {
  const p = await shellParser();
  const tree = p.parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree');
  if (tree.rootNode.hasError) return `PARSE ERROR ${tree.rootNode.toString()}`;
  // A quoted word with an escaped quote inside is a concatenation of raw strings and words: one argument.
  return tree.rootNode.toString().replace(/\(concatenation(?: \((?:raw_string|word)\))+\)/g, '(raw_string)');
}
