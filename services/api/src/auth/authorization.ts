import { looksLikeToken } from './tokens';

export type Authorization =
  | { scheme: 'basic'; username: string; password: string }
  | { scheme: 'bearer'; token: string }
  | 'absent'
  | 'malformed';

export type Credentials = { kind: 'token'; token: string; bearer: boolean } | { kind: 'password'; username: string; password: string };

/** Why credentials were refused, and the challenge a 401 carries. */
export interface AuthFailure {
  status: 400 | 401;
  message: string;
  challenge: string;
}

export const realm = 'starter';
export const basicChallenge = `Basic realm="${realm}", charset="UTF-8"`;
// RFC 6750: a Bearer token that failed is answered with a Bearer challenge naming the error.
export const bearerChallenge = `Bearer realm="${realm}", error="invalid_token"`;

export const authFailure = (status: AuthFailure['status'], message: string, challenge = basicChallenge): AuthFailure => ({ status, message, challenge });

/** Basic per RFC 7617 (UTF-8; the password is all after the first colon), Bearer per RFC 6750. */
export function parseAuthorization(header: string | undefined): Authorization {
  if (!header) return 'absent';
  const bearer = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i.exec(header);
  if (bearer?.[1]) return { scheme: 'bearer', token: bearer[1] };
  if (/^Bearer(\s|$)/i.test(header)) return 'malformed';
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (!match?.[1]) return /^Basic(\s|$)/i.test(header) ? 'malformed' : 'absent';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  // User names are NFC everywhere (stored, cached, counted); the password is normalised where it is hashed.
  return { scheme: 'basic', username: decoded.slice(0, colon).normalize('NFC'), password: decoded.slice(colon + 1) };
}

/** A token arrives as Bearer, or as the seed sends it: the basic user name with an empty password. */
export function tokenOf(authorization: Authorization): string | undefined {
  if (typeof authorization !== 'object') return undefined;
  if (authorization.scheme === 'bearer') return authorization.token;
  return authorization.password === '' && looksLikeToken(authorization.username) ? authorization.username : undefined;
}

export function credentialsOf(authorization: Authorization): Credentials | AuthFailure {
  if (authorization === 'absent') return authFailure(401, 'authentication required');
  if (authorization === 'malformed') return authFailure(400, 'the Authorization header is not valid Basic or Bearer credentials');
  if (authorization.scheme === 'bearer') return { kind: 'token', token: authorization.token, bearer: true };
  const token = tokenOf(authorization);
  if (token !== undefined) return { kind: 'token', token, bearer: false };
  return { kind: 'password', username: authorization.username, password: authorization.password };
}

const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;

/** RFC 7617 forbids control characters in both: refused before any lookup, throttle or hash. */
export function controlCharacterRefusal(username: string, password: string): AuthFailure | undefined {
  if (controlCharacter.test(username)) return authFailure(400, 'the user name in the Authorization header must not contain control characters');
  if (controlCharacter.test(password)) return authFailure(400, 'the password in the Authorization header must not contain control characters');
  return undefined;
}
