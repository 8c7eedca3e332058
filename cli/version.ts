import { readFileSync } from 'node:fs';
import { Command } from 'commander';

export function versionCommand(): Command {
  return new Command('version')
    .description('Prints out build version information')
    .option('--remote', 'also ask the control plane (not yet supported)', false)
    .option('-s, --short', 'use --short=false to generate full version information', true)
    .action(() => {
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`client version: ${pkg.version}\n`);
    });
}
