// The desktop settings file (settings.json in the user data directory). A file that cannot be
// read, is not JSON or fails validation never stops the app: the defaults apply and the reason
// is reported (log + Settings screen); the broken file is kept beside as settings.json.bad so
// that saving the defaults does not destroy what the user had.
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write';
import { defaultDesktopSettings, describeIssues, DesktopSettingsSchema, type DesktopSettings, type LoadedSettings } from '@shared/desktop-bridge';

export const SETTINGS_FILE = 'settings.json';

export class SettingsValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsValidationError';
  }
}

export function validateSettings(input: unknown): DesktopSettings {
  const r = DesktopSettingsSchema.safeParse(input);
  if (!r.success) throw new SettingsValidationError(describeIssues(r.error));
  return r.data;
}

export class SettingsStore {
  readonly path: string;
  private current: LoadedSettings;

  constructor(dir: string) {
    this.path = join(dir, SETTINGS_FILE);
    this.current = { settings: defaultDesktopSettings(), error: null, path: this.path };
  }

  /** Reads the file; returns the defaults (with `error` set) when it is unusable. */
  load(): LoadedSettings {
    this.current = this.read();
    return this.current;
  }

  get(): LoadedSettings {
    return this.current;
  }

  /** Validates and writes atomically (temp file + rename), so a crash never leaves half a file. */
  save(input: unknown): DesktopSettings {
    const settings = validateSettings(input);
    writeFileAtomic(this.path, `${JSON.stringify(settings, null, 2)}\n`, 0o600);
    this.current = { settings, error: null, path: this.path };
    return settings;
  }

  private read(): LoadedSettings {
    const fallback = (error: string): LoadedSettings => {
      try {
        copyFileSync(this.path, `${this.path}.bad`);
      } catch {
        // Keeping a copy is a courtesy; the defaults apply either way.
      }
      return { settings: defaultDesktopSettings(), error, path: this.path };
    };
    if (!existsSync(this.path)) return { settings: defaultDesktopSettings(), error: null, path: this.path };
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      return fallback(`${this.path} could not be read (${(e as Error).message}); using the defaults`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return fallback(`${this.path} is not valid JSON (${(e as Error).message}); using the defaults`);
    }
    const r = DesktopSettingsSchema.safeParse(raw);
    if (!r.success) return fallback(`${this.path} is invalid: ${describeIssues(r.error)}; using the defaults`);
    return { settings: r.data, error: null, path: this.path };
  }
}
