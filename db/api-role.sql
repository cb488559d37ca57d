-- The API's own role, starter_api: it owns the database (so, on PostgreSQL 15+, the public schema)
-- and everything the API migrated, and is no superuser. Run by the superuser, on a new cluster
-- (docker-entrypoint-initdb.d) and by startStack.sh on every start, so a database made before the
-- role existed, or restored from a superuser's dump, is handed over too. Safe to run again.
-- The password comes from the environment variable API_DB_PASSWORD.
\set ON_ERROR_STOP on
\getenv api_db_password API_DB_PASSWORD
\if :{?api_db_password}
\else
  \set api_db_password ''
\endif

SELECT 'CREATE ROLE starter_api' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'starter_api') \gexec
-- An empty password clears it: the role then cannot log in over TCP.
ALTER ROLE starter_api WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'api_db_password';
ALTER DATABASE :"DBNAME" OWNER TO starter_api;

DO $$
DECLARE
  object record;
BEGIN
  -- Tables first: each takes its indexes, triggers and serial sequences along.
  FOR object IN
    SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      AND c.relowner <> 'starter_api'::regrole
  LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO starter_api', object.name);
  END LOOP;
  FOR object IN
    SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'S' AND c.relowner <> 'starter_api'::regrole
  LOOP
    EXECUTE format('ALTER SEQUENCE %s OWNER TO starter_api', object.name);
  END LOOP;
  FOR object IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proowner <> 'starter_api'::regrole
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO starter_api', object.name);
  END LOOP;
END $$;
