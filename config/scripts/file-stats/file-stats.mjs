#!/usr/bin/env node
// Counts files and lines by extension under --path (default: the workspace), skipping .git and .ao.
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const option = (name) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
const root = path.resolve(option('path') ?? '.');
const only = option('extensions')?.split(',');

const stats = {};
const walk = (dir) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === '.git' || entry.name === '.ao' || entry.name === 'node_modules') continue;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(file);
    else if (entry.isFile()) {
      const extension = path.extname(entry.name).slice(1) || '(none)';
      if (only && !only.includes(extension)) continue;
      const lines = fs.readFileSync(file, 'utf8').split('\n').length;
      stats[extension] ??= { files: 0, lines: 0 };
      stats[extension].files += 1;
      stats[extension].lines += lines;
      console.error(`${path.relative(root, file)}: ${lines} lines`);
    }
  }
};
walk(root);
console.log(JSON.stringify({ root, by_extension: stats }));
