export interface AuthenticatedUser {
  id: number;
  username: string;
  /** The user's token_version when verified: what a token issued now carries. */
  tokenVersion: string;
}
