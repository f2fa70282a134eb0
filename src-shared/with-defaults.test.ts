import { describe, expect, it } from 'vitest';
import { withDefaults } from './with-defaults';

describe('withDefaults', () => {
  it('takes the options that are set and keeps the default where an option is missing or undefined', () => {
    const d = { a: 1, b: 2, c: 3 };
    expect(withDefaults(d, { a: 10, b: undefined })).toEqual({ a: 10, b: 2, c: 3 });
    expect(withDefaults(d, undefined)).toEqual(d);
    // Falsy values other than undefined are real choices.
    expect(withDefaults(d, { a: 0, c: null as unknown as number })).toEqual({ a: 0, b: 2, c: null });
    expect(d).toEqual({ a: 1, b: 2, c: 3 });
  });
});
