// bin/ runs a bundle only while it is at least as new as every TypeScript source.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshBundle } from '../bin/launch.mjs';

describe('bin/launch.mjs (bundle or sources)', () => {
  let dir: string;
  const touch = (path: string, seconds: number) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '');
    utimesSync(path, seconds, seconds);
  };
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'isthmus-launch-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('picks the bundle when it is newer than every source', () => {
    touch(join(dir, 'pilot/xds/server.ts'), 1000);
    touch(join(dir, 'dist/isthmusd.mjs'), 2000);
    assert.equal(freshBundle('isthmusd', dir), join(dir, 'dist/isthmusd.mjs'));
  });

  it('falls back to the sources when one of them is newer, or the bundle is missing', () => {
    touch(join(dir, 'dist/isthmusd.mjs'), 2000);
    touch(join(dir, 'cli/deep/nested/file.ts'), 3000);
    assert.equal(freshBundle('isthmusd', dir), undefined);
    assert.equal(freshBundle('isthmusctl', dir), undefined);
  });

  it('ignores files that are not TypeScript sources', () => {
    touch(join(dir, 'dist/isthmusd.mjs'), 2000);
    touch(join(dir, 'pilot/notes.md'), 3000);
    assert.equal(freshBundle('isthmusd', dir), join(dir, 'dist/isthmusd.mjs'));
  });
});
