// Names in writer errors come from the source file, which may be corrupt: a name with a newline or
// another control character must not break the one-line message.

/** `name` in double quotes, control characters escaped as \xNN. */
export function quoted(name: string): string {
  return `"${name.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}
