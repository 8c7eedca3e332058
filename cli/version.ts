import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { projectRoot } from '../pilot/util/project-root.js';

export function versionCommand(): Command {
  return new Command('version')
    .description('Prints out build version information')
    .option('--remote', 'also ask the control plane (not yet supported)', false)
    .option('-s, --short', 'use --short=false to generate full version information', true)
    .action(() => {
      const pkg = JSON.parse(readFileSync(join(projectRoot(import.meta.url), 'package.json'), 'utf8')) as { version: string };
      process.stdout.write(`client version: ${pkg.version}\n`);
    });
}
