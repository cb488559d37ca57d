import type { Knex } from 'knex';

/**
 * User names are NFC from here on (adduser and every lookup normalise them). A name stored in
 * another form is rewritten in NFC, unless its NFC form is another user's: that pair is left as
 * it is and reported, for an operator to remove one (deluser takes the exact spelling); so is a
 * name whose NFC form does not fit the column.
 */
export async function up(knex: Knex): Promise<void> {
  const users = await knex<{ id: number; username: string }>('starter_users').select('id', 'username');
  const taken = new Set(users.map((user) => user.username));
  for (const { id, username } of users) {
    const normalized = username.normalize('NFC');
    if (normalized === username) continue;
    // PostgreSQL counts characters: NFC can make a name longer than the column (U+0958 is two in NFC).
    if ([...normalized].length > 100) {
      knex.client.logger.warn?.(
        `user name ${JSON.stringify(username)} (id ${id}) is longer than 100 characters in NFC: left as it is; remove it with deluser and add it again shorter`,
      );
      continue;
    }
    if (taken.has(normalized)) {
      knex.client.logger.warn?.(
        `user names ${JSON.stringify(username)} (id ${id}) and ${JSON.stringify(normalized)} are the same name in NFC: left as they are; remove one with deluser`,
      );
      continue;
    }
    await knex('starter_users').where({ id }).update({ username: normalized });
    taken.add(normalized);
  }
}

export async function down(): Promise<void> {
  // Nothing to undo: the NFC names are the same names.
}
