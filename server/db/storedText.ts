// Text bound for a PostgreSQL `text` or `jsonb` column. PostgreSQL refuses the NUL character
// (22021) in both, so a step that prints one would otherwise lose its whole result; it is stored
// as U+FFFD, the character UTF-8 decoding already puts in place of invalid bytes.
/** The longest error message stored for a step or an attempt (its output keeps everything). */
export const MAX_ERROR_CHARS = 2_000;

export function storedText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/** The same, and cut to `maxChars` (keeping the start) with a note of how much was left out. */
export function storedLine(text: string, maxChars: number): string {
  const clean = storedText(text);
  if (clean.length <= maxChars) return clean;
  return `${clean.slice(0, maxChars)}… (${clean.length - maxChars} more characters)`;
}
