/**
 * Drops trailing '=' padding in linear time. (`s.replace(/=+$/, '')` backtracks on every run of
 * '=' in the string: a page's 30 KB of '=' held the worker for a second.)
 */
export function stripPadding(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  return s.slice(0, end);
}
