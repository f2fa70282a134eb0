// Times are UTC text with microseconds, pyBit's JobHistory format ("2013-02-13 10:00:00.123456").
export function toDbTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '000');
}
export function nowText(): string {
  return toDbTime(new Date());
}
export function fromDbTime(s: string): Date {
  return new Date(s.slice(0, 23).replace(' ', 'T') + 'Z');
}
