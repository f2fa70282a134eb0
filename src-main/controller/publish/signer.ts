// Signs a build's .changes (and the .dsc and .buildinfo it names) on the controller with debsign,
// so that the key never reaches a worker. The same key is reprepro's SignWith.
import { runChecked, type CommandRunner } from './command-runner';

export interface SignerOptions {
  keyId: string;
  /** GnuPG home holding the secret key; GNUPGHOME of the environment when absent. */
  gnupgHome?: string;
}

export class Signer {
  constructor(
    private readonly runner: CommandRunner,
    readonly opts: SignerOptions,
  ) {}

  env(): NodeJS.ProcessEnv {
    return this.opts.gnupgHome ? { GNUPGHOME: this.opts.gnupgHome } : {};
  }

  /** Signs `changesPath` in place; files it names must sit beside it. */
  async signChanges(changesPath: string): Promise<void> {
    // --re-sign: a replay finds the files already signed and must not stop to ask.
    await runChecked(this.runner, 'debsign', ['--no-conf', '--re-sign', `-k${this.opts.keyId}`, changesPath], { env: this.env() });
  }
}
