// `isthmusctl validate -f FILE...`: the config store's own checks, reported the way istioctl does.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { formatConfigError, parseYaml, type ConfigError } from '../pilot/config/parse.js';

function expand(paths: string[]): string[] {
  return paths.flatMap((p) => {
    if (p === '-') return [p];
    if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) {
      return readdirSync(p).filter((f) => /\.(ya?ml|json)$/.test(f)).sort().map((f) => join(p, f));
    }
    return [p];
  });
}

export function validateCommand(): Command {
  return new Command('validate')
    .alias('v')
    .description('Validate Istio policy and rules files')
    .requiredOption('-f, --filename <file...>', 'Istio YAML files or directories to validate ("-" for stdin)')
    .option('-n, --namespace <ns>', 'default namespace for resources without one', 'default')
    .action((o: { filename: string[]; namespace: string }) => {
      const errors: string[] = [];
      const valid: string[] = [];
      for (const file of expand(o.filename)) {
        let text: string;
        try {
          text = readFileSync(file === '-' ? 0 : file, 'utf8');
        } catch (e) {
          errors.push(`cannot read file "${file}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
          continue;
        }
        const r = parseYaml(text, { file, defaultNamespace: o.namespace });
        const fileErrors: ConfigError[] = r.errors;
        if (fileErrors.length) errors.push(...fileErrors.map(formatConfigError));
        else valid.push(file);
      }
      for (const f of valid) process.stdout.write(`"${f}" is valid\n`);
      if (errors.length) {
        process.stderr.write(`Error: ${errors.length} error${errors.length > 1 ? 's' : ''} occurred:\n${errors.map((e) => `\t* ${e}`).join('\n')}\n\n`);
        process.exitCode = 1;
      }
    });
}
