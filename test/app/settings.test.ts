// Desktop settings: defaults, round trip, validation naming the field, and a broken file that
// falls back to the defaults with the reason reported (and the file kept as .bad).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultDesktopSettings, DesktopSettingsSchema } from '@shared/desktop-bridge';
import { SettingsStore, SettingsValidationError } from '../../src-main/app/settings';
import { tempDir } from '../helpers/db';

describe('desktop settings', () => {
  const dirs: Array<{ cleanup(): void }> = [];
  const store = () => {
    const d = tempDir('buildbox-settings-');
    dirs.push(d);
    return { s: new SettingsStore(join(d.dir, 'nested')), dir: join(d.dir, 'nested') };
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) d.cleanup();
  });

  it('a missing file gives the defaults and no error', () => {
    const { s } = store();
    const loaded = s.load();
    expect(loaded.error).toBeNull();
    expect(loaded.settings).toEqual(defaultDesktopSettings());
    expect(loaded.settings.connection.mode).toBe('embedded');
    expect(loaded.settings.embedded.port).toBe(0);
  });

  it('saves atomically and loads back what was saved', () => {
    const { s, dir } = store();
    const wanted = {
      ...defaultDesktopSettings(),
      connection: { mode: 'remote' as const, remoteUrl: 'https://builds.example.org/', remoteToken: 'bbx_abc' },
      embedded: { amqp: null, port: 18080 },
      worker: { enabled: false, backend: 'sbuild' as const, suites: ['unstable', 'bookworm'], chroots: '/srv/chroots', slots: 3 },
      closeToTray: true,
    };
    s.save(wanted);
    expect(existsSync(join(dir, 'settings.json'))).toBe(true);
    const again = new SettingsStore(dir).load();
    expect(again.error).toBeNull();
    expect(again.settings).toEqual(wanted);
  });

  it('fills fields a partial file leaves out with their defaults', () => {
    const { s, dir } = store();
    s.save({});
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ worker: { backend: 'dry-run' } }));
    const loaded = s.load();
    expect(loaded.error).toBeNull();
    expect(loaded.settings.worker).toEqual({ ...defaultDesktopSettings().worker, backend: 'dry-run' });
  });

  it('a file that is not JSON → defaults, an error naming the file, and a .bad copy', () => {
    const { s, dir } = store();
    s.save({});
    const file = join(dir, 'settings.json');
    writeFileSync(file, '{ "connection": ');
    const loaded = s.load();
    expect(loaded.settings).toEqual(defaultDesktopSettings());
    expect(loaded.error).toMatch(/not valid JSON/);
    expect(loaded.error).toContain(file);
    expect(readFileSync(`${file}.bad`, 'utf8')).toBe('{ "connection": ');
  });

  it('a file with a bad field → defaults and an error naming the field', () => {
    const { s, dir } = store();
    s.save({});
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ worker: { slots: 0 }, embedded: { amqp: 'http://nope' } }));
    const loaded = s.load();
    expect(loaded.settings).toEqual(defaultDesktopSettings());
    expect(loaded.error).toMatch(/worker\.slots/);
    expect(loaded.error).toMatch(/embedded\.amqp: must be an amqp/);
  });

  it('saving invalid settings throws naming the field and leaves the file as it was', () => {
    const { s, dir } = store();
    s.save({ closeToTray: true });
    const before = readFileSync(join(dir, 'settings.json'), 'utf8');
    const bad = [
      [{ connection: { mode: 'remote', remoteUrl: '', remoteToken: '' } }, /connection\.remoteUrl: required.*connection\.remoteToken: required/],
      [{ connection: { mode: 'remote', remoteUrl: 'ftp://x', remoteToken: 't' } }, /connection\.remoteUrl: must be an http/],
      [{ worker: { suites: [] } }, /worker\.suites: name at least one suite/],
      [{ worker: { suites: ['../etc'] } }, /worker\.suites\.0: must be a suite name/],
      [{ worker: { backend: 'docker' } }, /worker\.backend/],
      [{ embedded: { port: 70000 } }, /embedded\.port/],
      [{ notifications: 'yes' }, /notifications/],
    ] as const;
    for (const [input, msg] of bad) {
      expect(() => s.save(input), JSON.stringify(input)).toThrow(SettingsValidationError);
      expect(() => s.save(input)).toThrow(msg);
    }
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(before);
    expect(s.get().settings.closeToTray).toBe(true);
  });

  it('the renderer can validate with the same schema', () => {
    const r = DesktopSettingsSchema.safeParse({ connection: { mode: 'remote', remoteUrl: 'http://10.0.0.5:8080', remoteToken: 'bbx_x' } });
    expect(r.success).toBe(true);
  });
});
