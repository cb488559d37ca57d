/** The starter_users.username column is varchar(100): PostgreSQL counts characters (code points). */
export const maxUsernameLength = 100;

export const tooLong = (name: string): boolean => [...name].length > maxUsernameLength;

/** Could a user have this name (as sent, stored in NFC)? Impossible ones are refused without a query. */
export const isPossibleUsername = (name: string): boolean => name !== '' && !name.includes('\0') && !tooLong(name.normalize('NFC'));

const codePoint = (character: string) => `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Judged in NFC. Nothing unseen in a log (controls, format characters, edge spaces), nor a name NFKC
 * changes: full-width `ＡＤＭＩＮ` would be a second `ADMIN` to the eye. */
export function newUsernameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.includes(':')) return 'must not contain ":" (HTTP Basic auth cannot carry it)';
  const username = name.normalize('NFC');
  if (tooLong(username)) return `must be at most ${maxUsernameLength} characters (in NFC)`;
  const control = /\p{Cc}/u.exec(username);
  if (control) return `must not contain control characters (${codePoint(control[0])})`;
  const format = /\p{Cf}/u.exec(username);
  if (format) return `must not contain invisible format characters such as zero-width or bidirectional marks (${codePoint(format[0])})`;
  if (/^\s|\s$/u.test(username)) return 'must not begin or end with white space';
  const folded = username.normalize('NFKC');
  if (folded !== username) return `must not contain compatibility characters such as full-width letters: write '${folded}'`;
  return undefined;
}

export function newPasswordProblem(password: string): string | undefined {
  if (!password) return 'must not be empty';
  // HTTP Basic auth cannot carry them (RFC 7617): such a password could never be used.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(password)) return 'must not contain control characters';
  return undefined;
}
