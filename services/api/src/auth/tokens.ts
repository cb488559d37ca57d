import { SignJWT, jwtVerify } from 'jose';

/** What a token says about its holder; checked against the user's row before it is trusted. */
export interface TokenClaims {
  username: string;
  userId: number;
  tokenVersion: string;
  expiresAt: number;
}

const issuer = 'starter';
const algorithm = 'HS256';

/** Signed, expiring JWTs; HS256 only, so `alg: none` and every other algorithm are refused. */
export class Tokens {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async issue(user: { id: number; username: string; tokenVersion: string }): Promise<string> {
    return new SignJWT({ uid: user.id, ver: user.tokenVersion })
      .setProtectedHeader({ alg: algorithm, typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(user.username)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** The claims of a genuine, unexpired token; undefined for anything else. */
  async verify(token: string): Promise<TokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: [algorithm],
        issuer,
        requiredClaims: ['sub', 'exp'],
      });
      const { sub, uid, ver, exp } = payload;
      if (typeof sub !== 'string' || typeof uid !== 'number' || typeof ver !== 'string' || typeof exp !== 'number') {
        return undefined;
      }
      return { username: sub, userId: uid, tokenVersion: ver, expiresAt: exp * 1000 };
    } catch {
      return undefined;
    }
  }
}

// Three base64url parts: what a JWT looks like, told apart from a user name without parsing it.
const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export const looksLikeToken = (value: string): boolean => value.length > 20 && jwtShape.test(value);

