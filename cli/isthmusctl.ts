// isthmusctl: istioctl's habits (subcommands, flags, output) for Isthmus.
import { Command, CommanderError } from 'commander';
import { validateCommand } from './validate.js';
import { versionCommand } from './version.js';
import { kubeInjectCommand } from './kube-inject.js';
import { xCommand } from './x-trace.js';
import { proxyStatusCommand } from './proxy-status.js';
import { proxyConfigCommand } from './proxy-config.js';

const program = new Command('isthmusctl')
  .description('Isthmus configuration command line utility (istioctl-compatible)')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });
program.addCommand(validateCommand());
program.addCommand(versionCommand());
program.addCommand(kubeInjectCommand());
program.addCommand(xCommand());
program.addCommand(proxyStatusCommand());
program.addCommand(proxyConfigCommand());

try {
  await program.parseAsync();
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  process.stderr.write(`Error: ${(e as Error).message}\n`);
  process.exit(1);
}
