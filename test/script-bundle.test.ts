import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptBundleError, packScriptBundle, unpackScriptBundle } from '../core/config/script-bundle.js';
import { readScriptFolder, saveScript } from '../core/config/scripts.js';

const dirs: string[] = [];
const tempDir = async (): Promise<string> => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-bundle-test-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

/** One ustar header block, written by hand so an archive can say what node-tar would never write. */
function tarHeader(name: string, size: number, type: '0' | '2' | '5', linkName = ''): Buffer {
  const block = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number): void => void block.write(text.slice(0, length), offset, 'utf8');
  const octal = (value: number, length: number): string => `${value.toString(8).padStart(length - 1, '0')}\0`;
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put('        ', 148, 8);
  put(type, 156, 1);
  put(linkName, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

function tarGz(entries: Array<{ name: string; content?: string; type?: '0' | '2' | '5'; link?: string }>): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '');
    parts.push(tarHeader(entry.name, entry.type && entry.type !== '0' ? 0 : content.length, entry.type ?? '0', entry.link));
    if (!entry.type || entry.type === '0') parts.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(parts));
}

const definition = JSON.stringify({ name: 'x', script_file: 'x.sh' });

describe('script bundles', () => {
  it('round-trips a script folder with the same version and the executable bit', async () => {
    const config = await tempDir();
    const saved = await saveScript(config, { name: 'x', description: '', script_file: 'x.sh', demands: { tags: [] } }, '#!/bin/sh\necho hi\n');
    const archive = await packScriptBundle(path.join(config, 'scripts', 'x'), 'x.sh');
    expect(await packScriptBundle(path.join(config, 'scripts', 'x'), 'x.sh')).toEqual(archive);
    const dest = await tempDir();
    expect((await unpackScriptBundle(archive, dest)).sort()).toEqual(['script.json', 'x.sh']);
    expect((await readScriptFolder(dest, 'x')).version).toBe(saved.version);
    expect((await fs.stat(path.join(dest, 'x.sh'))).mode & 0o111).toBe(0o111);
  });

  it.each([
    ['a dot-dot entry', [{ name: 'script.json', content: definition }, { name: '../escaped.sh', content: 'evil' }], /would escape/],
    ['an absolute entry', [{ name: 'script.json', content: definition }, { name: '/tmp/ao-escaped.sh', content: 'evil' }], /would escape/],
    ['a nested entry', [{ name: 'script.json', content: definition }, { name: 'sub/x.sh', content: 'evil' }], /would escape/],
    ['a symlink', [{ name: 'script.json', content: definition }, { name: 'x.sh', type: '2' as const, link: '/etc/passwd' }], /SymbolicLink, not a plain file/],
    ['a directory', [{ name: 'script.json', content: definition }, { name: 'dir/', type: '5' as const }], /Directory, not a plain file/],
  ])('refuses a bundle with %s and writes nothing', async (_label, entries, reason) => {
    const parent = await tempDir();
    const dest = path.join(parent, 'inside');
    await fs.mkdir(dest);
    await expect(unpackScriptBundle(tarGz(entries), dest)).rejects.toThrow(reason);
    await expect(unpackScriptBundle(tarGz(entries), dest)).rejects.toBeInstanceOf(ScriptBundleError);
    expect(await fs.readdir(dest)).toEqual([]);
    expect(await fs.readdir(parent)).toEqual(['inside']);
    await expect(fs.access('/tmp/ao-escaped.sh')).rejects.toThrow();
  });

  it('refuses what is not a tar.gz', async () => {
    await expect(unpackScriptBundle(Buffer.from('not an archive'), await tempDir())).rejects.toThrow(/not a readable tar.gz/);
  });
});
