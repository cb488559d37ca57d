import type { ChannelHandler } from '../db/changeListener';
import type { CredentialCache } from './credentialCache';

/** Notified by the users trigger (and resetdb) with a user name, or '*' when the whole table went. */
export const usersChannel = 'starter_users_changed';

/** Keeps the credential cache true to the users table; nothing is cached while changes go unheard. */
export function credentialInvalidation(cache: CredentialCache): ChannelHandler {
  return {
    notified: (payload) => (payload === '*' ? cache.clear() : cache.invalidateUser(payload)),
    listening: (heard) => cache.setEnabled(heard),
  };
}
