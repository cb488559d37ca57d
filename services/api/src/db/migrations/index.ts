import type { Knex } from 'knex';
import * as initial from './20261125000000_initial';
import * as pxcodesState from './20261125010000_pxcodes_state';
import * as usersTokenVersion from './20261126000000_users_token_version';
import * as pxcodesNotify from './20261126010000_pxcodes_notify';
import * as pxcodesCodeCollation from './20261126020000_pxcodes_code_collation';
import * as usersUsernameNfc from './20261202000000_users_username_nfc';
import * as pxcodesNotifyDropped from './20261203000000_pxcodes_notify_dropped';
import * as pxcodesProcedureOrder from './20261203010000_pxcodes_procedure_order';
import * as pxcodesSearch from './20261203020000_pxcodes_search';
import * as imports from './20261203030000_imports';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Listed in code rather than read from a folder, so the same list runs from ts-jest and from dist/.
const migrations: Record<string, Migration> = {
  '20261125000000_initial': initial,
  '20261125010000_pxcodes_state': pxcodesState,
  '20261126000000_users_token_version': usersTokenVersion,
  '20261126010000_pxcodes_notify': pxcodesNotify,
  '20261126020000_pxcodes_code_collation': pxcodesCodeCollation,
  '20261202000000_users_username_nfc': usersUsernameNfc,
  '20261203000000_pxcodes_notify_dropped': pxcodesNotifyDropped,
  '20261203010000_pxcodes_procedure_order': pxcodesProcedureOrder,
  '20261203020000_pxcodes_search': pxcodesSearch,
  '20261203030000_imports': imports,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = migrations[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return migration;
  },
};
